"""``agentor tool build|sign|verify|keygen|inspect``: write, sign and check tool components.

Registered onto the ``tool`` group (``agentor_cli.commands.tool``). The toolkit
never imports the sandbox; precompiling into the sandbox's cache after a build
is done here, through the ``ToolRuntime`` entry point, because the CLI composes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from agentor_cli.commands.trust import trust_store
from agentor_cli.output import emit_json, handles_errors, inert, json_option, stderr, stdout
from agentor_core import discovery
from agentor_core.errors import AgentorError
from agentor_core.interfaces import ToolRuntime
from agentor_toolkit.build import build as build_tool
from agentor_toolkit.inspection import inspect_component
from agentor_toolkit.signing import default_trust_dir, keygen, sign, verify

_PATH = click.Path(path_type=Path)
_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


def _precompile(path: Path, *, quiet: bool) -> dict[str, Any]:
    """Load the component once through the installed ToolRuntime, filling its compile cache."""
    started = time.monotonic()
    interface: type[Any] = ToolRuntime  # a Protocol: mypy wants a concrete class here
    try:
        runtime: Any = discovery.create(interface, tools=[path])
    except AgentorError as exc:
        return {"done": False, "code": exc.code, "message": exc.message}
    try:
        tools = [spec.name for spec in runtime.list_tools()]
    finally:
        close = getattr(runtime, "close", None)
        if callable(close):
            close()
    if not quiet:
        stderr().print(Text(f"precompiled into the sandbox cache: {', '.join(tools)}", "dim"))
    return {"done": True, "seconds": round(time.monotonic() - started, 2)}


@click.command("build")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", "out", type=_PATH, help="Where to write the component.")
@click.option(
    "--precompile/--no-precompile",
    default=True,
    show_default=True,
    help="Compile into the sandbox cache afterwards, so the first call is fast.",
)
@json_option
@handles_errors
def build_command(src: Path, out: Path | None, precompile: bool, as_json: bool) -> None:
    """Build the Python tool at SRC (a folder with tool.toml, or a .py file) into a component."""
    console = stderr()

    def progress(message: str) -> None:
        if not as_json:
            console.print(Text.assemble(("build ", "bold cyan"), message))

    result = build_tool(src, out, progress=progress)
    precompiled = _precompile(result.path, quiet=as_json) if precompile else {"done": False}
    tool_names = [spec.name for spec in result.manifest.tools]
    document = {
        "ok": True,
        "path": str(result.path),
        "sha256": result.sha256,
        "size": result.size,
        "source_sha256": result.source_sha256,
        "manifest_sha256": result.manifest.digest(),
        "name": result.manifest.name,
        "version": result.manifest.version,
        "tools": tool_names,
        "seconds": round(result.seconds, 2),
        "precompile": precompiled,
    }
    if as_json:
        emit_json(document)
        return
    stdout().print(
        Text.assemble(
            ("built ", "green"),
            f"{result.path} ({result.size / 1e6:.1f} MB, {result.seconds:.1f} s)\n",
            f"sha256 {result.sha256}\n",
            f"tools: {', '.join(tool_names)}",
        )
    )


@click.command("keygen")
@click.argument("key", type=_PATH)
@click.option("--force", is_flag=True, help="Replace an existing key.")
@json_option
@handles_errors
def keygen_command(key: Path, force: bool, as_json: bool) -> None:
    """Create an Ed25519 signing key KEY (mode 0600) and KEY.pub."""
    private, public, kid = keygen(key, force=force)
    if as_json:
        emit_json(
            {"ok": True, "private_key": str(private), "public_key": str(public), "key_id": kid}
        )
        return
    stdout().print(
        Text.assemble(
            ("created ", "green"),
            f"{private} (private, keep it secret) and {public} (share it)\nkey id {kid}\n",
            f"to trust it here: copy {public} into {default_trust_dir()}",
        )
    )


@click.command("sign")
@click.argument("component", type=_EXISTING)
@click.option("--key", "key", type=_EXISTING, required=True, help="Ed25519 private key (PEM).")
@click.option("-o", "--output", "out", type=_PATH, help="Signature file (default COMPONENT.sig).")
@json_option
@handles_errors
def sign_command(component: Path, key: Path, out: Path | None, as_json: bool) -> None:
    """Write a detached signature over COMPONENT's SHA-256 and its manifest."""
    path, document = sign(component, key, out)
    if as_json:
        emit_json({"ok": True, "signature": str(path), **document.document()})
        return
    stdout().print(
        Text.assemble(("signed ", "green"), f"{component} with key {document.key_id} → {path}")
    )


@click.command("verify")
@click.argument("component", type=_EXISTING)
@click.option(
    "--trust",
    "trust",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    help="A trusted .pub file or folder of them (default: the config trust folder).",
)
@click.option("--signature", type=_EXISTING, help="Signature file (default COMPONENT.sig).")
@json_option
@handles_errors
def verify_command(
    component: Path, trust: tuple[Path, ...], signature: Path | None, as_json: bool
) -> None:
    """Check COMPONENT's signature, its manifest, and that the signer is trusted."""
    verified = verify(component, trust_store(trust), signature=signature)
    if as_json:
        emit_json(
            {
                "ok": True,
                "key_id": verified.key_id,
                "component_sha256": verified.component_sha256,
                "manifest_sha256": verified.manifest_sha256,
                "name": verified.manifest.name,
                "kind": verified.kind or "manifest",
            }
        )
        return
    stdout().print(
        Text.assemble(
            ("valid ", "green"),
            f"{component}: signed by trusted key {verified.key_id}, "
            f"sha256 {verified.component_sha256}",
        )
    )


def _shown(text: str, style: str = "") -> Text:
    """One line of untrusted text, inert (see :func:`agentor_cli.output.inert`)."""
    return inert(text, style, one_line=True)


@click.command("inspect")
@click.argument("component", type=_EXISTING)
@click.option(
    "--trust",
    "trust",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    help="Trusted keys for the signature status (default: the config trust folder).",
)
@json_option
@handles_errors
def inspect_command(component: Path, trust: tuple[Path, ...], as_json: bool) -> None:
    """Show COMPONENT's name, hash, size, signature, tools, requests, imports and exports."""
    found = inspect_component(component, trust_store(trust))
    document = found.as_json()
    if as_json:
        emit_json({"ok": True, **document})
        return
    console = stdout()
    console.print(
        Text.assemble(
            (f"{document['name'] or component.name} {document['version'] or ''}\n", "bold"),
            f"{found.kind}, {found.size / 1e6:.1f} MB, sha256 {found.sha256}\n",
            "signature: ",
            (found.signature, "green" if found.signature == "valid" else "yellow"),
            f" (key {found.signer})" if found.signer else "",
        )
    )
    if found.manifest_error:
        console.print(Text(f"manifest: {found.manifest_error}", "yellow"))
    table = Table(title="tools", title_justify="left")
    table.add_column("name")
    table.add_column("parameters")
    table.add_column("description")
    for tool in document["tools"]:
        params = ", ".join(sorted(tool["input_schema"].get("properties", {})))
        # Text, never markup strings: every cell comes from the component.
        table.add_row(*(_shown(cell) for cell in (tool["name"], params, tool["description"])))
    console.print(table)
    requests = (
        json.dumps(document["requests"], sort_keys=True) if document["requests"] else "nothing"
    )
    console.print(Text(f"requests: {requests}"))
    console.print(_shown(f"imports: {', '.join(found.imports)}", "dim"))
    console.print(_shown(f"exports: {', '.join(found.exports)}", "dim"))


COMMANDS = (build_command, keygen_command, sign_command, verify_command, inspect_command)
