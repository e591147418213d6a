"""``agentor tool``: run WebAssembly tools. ``call`` lives here; build and sign join the group."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Final

import click
from rich.console import Console
from rich.status import Status
from rich.text import Text

from agentor_cli.commands.trust import trust_store
from agentor_cli.composition import egress, secret_store
from agentor_cli.output import emit_json, handles_errors, json_option, stderr, stdout
from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError, CoreCode
from agentor_core.tools import ToolCall
from agentor_core.validation import parse_untrusted_json
from agentor_sandbox import CompileProgress, SandboxRuntime, Stage
from agentor_toolkit.admission import admit_bytes
from agentor_toolkit.component import read_bounded
from agentor_toolkit.signing import signature_path

MAX_ARGS_BYTES: Final = 1024 * 1024
MAX_GRANT_BYTES: Final = 1024 * 1024


@click.group("tool")
def tool() -> None:
    """Run WebAssembly tools in the sandbox (and, with agentor-toolkit, build and sign them)."""


def _arguments(raw: str) -> dict[str, Any]:
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_ARGS_BYTES:
        raise AgentorError(CoreCode.INVALID_INPUT, f"--args is over {MAX_ARGS_BYTES} bytes")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"--args is not JSON: {exc.msg} at character {exc.pos}",
            hint='pass a JSON object, e.g. --args \'{"name": "x"}\'',
        ) from None
    if not isinstance(value, dict):
        raise AgentorError(
            CoreCode.INVALID_INPUT, "--args must be a JSON object", hint="e.g. --args '{\"n\": 1}'"
        )
    return value


def _grant(path: Path | None) -> Capabilities:
    if path is None:
        return Capabilities()
    try:
        with path.open("rb") as handle:  # bounded: never the whole of a pipe or device
            raw = handle.read(MAX_GRANT_BYTES + 1)
    except OSError as exc:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"cannot read the grant {path}: {exc.strerror or exc}",
            hint="pass a readable JSON file of capabilities",
        ) from None
    return parse_untrusted_json(Capabilities, raw, max_bytes=MAX_GRANT_BYTES, source=str(path))


class _CompileStatus:
    """Shows a spinner while a tool is compiled to native code the first time."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.status: Status | None = None

    def __call__(self, event: CompileProgress) -> None:
        if self.quiet:
            return
        if event.stage is Stage.COMPILING:
            size = event.wasm_bytes / 1024**2
            self.status = self.console.status(
                Text(f"compiling {event.source} ({size:.1f} MB) to native code, once per version")
            )
            self.status.start()
        elif self.status is not None:
            self.status.stop()
            self.status = None
            self.console.print(
                Text(f"compiled {event.source} in {event.seconds:.1f} s (cached)", style="dim")
            )

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()


@tool.command("call")
@click.argument("wasm", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("name", required=False)
@click.option(
    "--args", "args_json", default="{}", show_default=True, help="Arguments, a JSON object."
)
@click.option(
    "--grant",
    "grant_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Capabilities JSON (filesystem, network, env, secrets, limits). Default: nothing.",
)
@click.option(
    "--require-signed",
    is_flag=True,
    help="Refuse WASM unless a trusted key signed it (a signature present is always checked).",
)
@click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A trusted .pub file or folder of them (default: the config trust folder).",
)
@json_option
@handles_errors
def call(
    wasm: Path,
    name: str | None,
    args_json: str,
    grant_file: Path | None,
    require_signed: bool,
    trust: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Run tool NAME from WASM once, in a fresh sandbox limited to the grant; print the result."""
    arguments = _arguments(args_json)
    grant = _grant(grant_file)
    checked: bytes | None = None
    if require_signed or signature_path(wasm).is_file():
        # Before any byte of it is compiled: a tampered or unsigned component
        # never reaches the sandbox, and one asking beyond the grant is refused.
        # Read once: the sandbox gets the bytes that were checked, never a
        # second read of a path someone may have swapped in between.
        checked = read_bounded(wasm)
        admit_bytes(
            checked, wasm, grant, trust=trust_store(trust), require_signature=require_signed
        )
    progress = _CompileStatus(stderr(), quiet=as_json)
    secrets = secret_store()
    runtime = SandboxRuntime(
        egress_guard=egress(secrets),
        secret_store=secrets,
        pool_size=0,
        on_compile=progress,
    )
    try:
        try:
            if checked is None:
                specs = runtime.load(wasm)
            else:
                specs = runtime.load_bytes(checked, source=wasm.name, default_name=wasm.stem)
        finally:
            progress.stop()
        names = [spec.name for spec in specs]
        if name is None:
            if len(names) != 1:
                raise AgentorError(
                    CoreCode.UNKNOWN_TOOL,
                    f"{wasm.name} has {len(names)} tools; name one",
                    hint=f"tools: {', '.join(names)}",
                )
            name = names[0]
        result = runtime.invoke(
            ToolCall(id=f"cli-{uuid.uuid4().hex[:12]}", tool=name, arguments=arguments), grant
        )
    finally:
        runtime.close()
    if result.error is not None:
        raise AgentorError(result.error.code, result.error.message, hint=result.error.hint)
    if as_json:
        emit_json({"ok": True, "result": result.model_dump(mode="json")})
        return
    console = stdout()
    for block in result.content:
        if block.type == "json":
            console.print(Text(json.dumps(block.data, indent=2, ensure_ascii=False)))
        elif block.type == "text":
            console.print(Text(block.text))
        else:
            console.print(Text(f"[{block.type} content]", style="dim"))


# agentor-toolkit's commands (build, keygen, sign, verify, inspect) join this group.
from agentor_cli.commands.tool_build import COMMANDS as _TOOLKIT_COMMANDS  # noqa: E402

for _command in _TOOLKIT_COMMANDS:
    tool.add_command(_command)
