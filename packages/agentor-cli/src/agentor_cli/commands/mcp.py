"""``agentor mcp``: review and approve (pin) the tools of outside MCP servers.

The ``[servers.NAME]`` of agentor.toml are started exactly as ``agentor serve``
starts them (empty environment, egress guard for HTTP); their tools are listed,
scanned for poisoning and compared with the pin file. Nothing is served by an
outside server until a person approved it here (or ``[proxy]
trust_on_first_use`` is on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.text import Text

from agentor_cli.output import emit_json, handles_errors, json_option, stdout
from agentor_core.errors import AgentorError, CoreCode
from agentor_core.interfaces import EgressGuard, SecretStore


def _open(config: Path) -> tuple[Any, Any]:
    from agentor_audit import create_audit_sink  # noqa: PLC0415
    from agentor_cli.commands.serve import _optional  # noqa: PLC0415
    from agentor_mcp import OutsideServers, PinStore, load_config  # noqa: PLC0415

    loaded = load_config(config)
    if not loaded.config.servers:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"{loaded.source} lists no [servers]",
            hint='add a [servers.NAME] table with command = [...] or url = "..."',
        )
    audit_path = loaded.config.audit.path
    audit = create_audit_sink(
        path=loaded.resolve(audit_path) if audit_path else None,
        durability=loaded.config.audit.durability,
    )
    try:
        outside = OutsideServers(
            loaded.config.servers,
            base=loaded.base,
            pins=PinStore(loaded.resolve(loaded.config.proxy.pin_file)),
            audit=audit,
            proxy=loaded.config.proxy,
            egress_guard=_optional(EgressGuard),
            secret_store=_optional(SecretStore),
            close_guard=True,
        )
    except BaseException:
        audit.close()
        raise
    return outside, audit


def _report(outside: Any) -> dict[str, Any]:
    from agentor_mcp.proxy import describe  # noqa: PLC0415

    errors = outside.refresh()
    return {
        "servers": {
            name: None if error is None else {"code": error.code, "message": error.message}
            for name, error in errors.items()
        },
        "tools": [describe(tool) for tool in outside.tools()],
    }


def _print(report: dict[str, Any]) -> None:
    console = stdout()
    for name, error in report["servers"].items():
        state = "up" if error is None else f"{error['code']}: {error['message']}"
        console.print(Text(f"server {name}: {state}"))
    for tool in report["tools"]:
        state = "served" if tool["served"] else tool["refusal"]["code"]
        console.print(Text(f"  {tool['name']:<40} {tool['status']:<8} {state}"))
        console.print(Text(f"      {tool['description'][:200]}"))
        for hit in tool["findings"]:
            console.print(
                Text(f"      finding {hit['finding']} in {hit['where']}: {hit['excerpt']}")
            )


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="agentor.toml with [servers.NAME] tables.",
)


@click.group("mcp")
def mcp() -> None:
    """Outside MCP servers: list their tools, approve (pin) them."""


@mcp.command("tools")
@config_option
@json_option
@handles_errors
def tools(*, config_path: Path, as_json: bool) -> None:
    """List every outside tool: pin status, poisoning findings, whether it is served."""
    outside, audit = _open(config_path)
    try:
        report = _report(outside)
    finally:
        outside.close()
        audit.close()
    if as_json:
        emit_json({"ok": True, **report})
    else:
        _print(report)


@mcp.command("pin")
@config_option
@click.argument("names", nargs=-1)
@click.option(
    "--all", "pin_all", is_flag=True, help="Approve every listed tool that is not refused."
)
@json_option
@handles_errors
def pin(*, config_path: Path, names: tuple[str, ...], pin_all: bool, as_json: bool) -> None:
    """Approve outside tools as they are now (NAME is server.tool). Audited.

    Review 'agentor mcp tools' first: an approval pins the exact name, description,
    schemas and annotations; any later change disables the tool again.
    Poisoned tools cannot be approved.
    """
    if not names and not pin_all:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            "name the tools to approve (server.tool), or pass --all",
            hint="run 'agentor mcp tools --config agentor.toml' to review them first",
        )
    outside, audit = _open(config_path)
    try:
        report = _report(outside)
        chosen = list(names) or [
            t["name"]
            for t in report["tools"]
            if not t["served"] and t["refusal"]["code"] != "mcp.tool_poisoned"
        ]
        approved = [outside.approve(name).served_name for name in chosen]
    finally:
        outside.close()
        audit.close()
    if as_json:
        emit_json({"ok": True, "approved": approved})
    else:
        for name in approved:
            stdout().print(Text(f"approved {name}"))
        if not approved:
            stdout().print(Text("nothing to approve"))


@mcp.command("client")
@click.argument("url")
@click.option(
    "--allow-range",
    "ranges",
    multiple=True,
    help="Special address range the egress guard may connect to (e.g. 127.0.0.0/8). Repeatable.",
)
@click.option(
    "--exercise",
    is_flag=True,
    help="Call every served tool once with example arguments from its schema "
    "(a diagnostic: use it only against a test server).",
)
@click.option("--timeout", default=20.0, show_default=True, help="Seconds per request.")
@json_option
@handles_errors
def client(
    *, url: str, ranges: tuple[str, ...], exercise: bool, timeout: float, as_json: bool
) -> None:
    """Connect to a streamable-HTTP MCP server with the proxy's client and report.

    The same path as a [servers] entry of agentor serve: the official SDK client,
    every request through the egress guard, each tool pinned on first sight in a
    throwaway pin file (trust on first use) after the poisoning scan, results
    bounded. Audited in the default audit log.
    """
    import tempfile  # noqa: PLC0415

    from pydantic import ValidationError  # noqa: PLC0415

    from agentor_audit import create_audit_sink  # noqa: PLC0415
    from agentor_cli.commands.serve import _optional  # noqa: PLC0415
    from agentor_core.capabilities import Capabilities  # noqa: PLC0415
    from agentor_core.tools import ToolCall  # noqa: PLC0415
    from agentor_mcp import OutsideServers, PinStore, ProxySection, ServerEntry  # noqa: PLC0415
    from agentor_mcp.annotations import example_arguments  # noqa: PLC0415
    from agentor_mcp.proxy import describe  # noqa: PLC0415

    try:
        entry = ServerEntry(url=url, address_ranges=ranges, timeout_seconds=timeout)
    except ValidationError as exc:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"not a usable server URL or range: {exc.errors()[0]['msg']}",
            hint="give an http(s) URL and CIDR ranges such as 127.0.0.0/8",
        ) from None
    audit = create_audit_sink()
    calls: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="agentor-mcp-client-") as scratch:
        try:
            outside = OutsideServers(
                {"server": entry},
                base=Path(scratch),
                pins=PinStore(Path(scratch) / "pins.json"),
                audit=audit,
                proxy=ProxySection(trust_on_first_use=True),
                egress_guard=_optional(EgressGuard),
                secret_store=None,
                close_guard=True,
            )
            try:
                errors = outside.refresh()
                for tool in outside.tools():
                    if not exercise or tool.refusal is not None or tool.spec is None:
                        continue
                    call = ToolCall(
                        id=f"mcp-client-{len(calls)}",
                        tool=tool.served_name,
                        arguments=example_arguments(tool.spec.input_schema),
                        component_hash=tool.pin,
                    )
                    result = outside.invoke(call, Capabilities())
                    calls.append(
                        {
                            "tool": tool.served_name,
                            "arguments": call.arguments,
                            "error": None if result.error is None else result.error.code,
                            "content": [b.model_dump(mode="json") for b in result.content][:8],
                        }
                    )
                tools_listed = [describe(tool) for tool in outside.tools()]
            finally:
                outside.close()
        finally:
            audit.close()
    error = errors.get("server")
    report = {
        "ok": error is None,
        "server": None if error is None else {"code": error.code, "message": error.message},
        "tools": tools_listed,
        "calls": calls,
    }
    if as_json:
        emit_json(report)
    else:
        console = stdout()
        console.print(Text(f"server {url}: {'up' if error is None else error.message}"))
        for listed in tools_listed:
            state = "served" if listed["served"] else "refused"
            console.print(Text(f"  {listed['name']:<40} {state}"))
        for done in calls:
            console.print(Text(f"  call {done['tool']}: {done['error'] or 'ok'}"))
    if error is not None:
        raise SystemExit(1)
