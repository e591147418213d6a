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

from agentor_cli.composition import outside_server_egress, secret_store
from agentor_cli.output import emit_json, handles_errors, json_option, stdout
from agentor_core.errors import AgentorError, CoreCode


def _load(config: Path) -> Any:
    from agentor_mcp import load_config  # noqa: PLC0415

    return load_config(config)


def _open(config: Path, only: str | None = None) -> tuple[Any, Any]:
    from agentor_audit import create_audit_sink  # noqa: PLC0415
    from agentor_mcp import OutsideServers, PinStore  # noqa: PLC0415

    loaded = _load(config)
    if not loaded.config.servers:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"{loaded.source} lists no [servers]",
            hint='add a [servers.NAME] table with command = [...] or url = "..."',
        )
    servers = loaded.config.servers
    if only is not None:
        entry = servers.get(only)
        if entry is None or entry.auth is None or entry.auth.type != "oauth":
            raise AgentorError(
                CoreCode.INVALID_INPUT,
                f"{loaded.source} has no [servers.{only[:64]}] with an auth table of type oauth",
                hint='add [servers.NAME.auth] type = "oauth" (see the agentor-mcp-bridge README)',
            )
        servers = {only: entry}
    audit_path = loaded.config.audit.path
    audit = create_audit_sink(
        path=loaded.resolve(audit_path) if audit_path else None,
        durability=loaded.config.audit.durability,
    )
    secrets = secret_store()
    try:
        outside = OutsideServers(
            servers,
            base=loaded.base,
            pins=PinStore(loaded.resolve(loaded.config.proxy.pin_file)),
            audit=audit,
            proxy=loaded.config.proxy,
            egress_guard=outside_server_egress(secrets),
            secret_store=secrets,
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
@click.option(
    "--oauth",
    "oauth_mode",
    type=click.Choice(["off", "follow", "browser"]),
    default="off",
    show_default=True,
    help="Authorize with OAuth 2.1 when the server asks: 'follow' fetches the authorization "
    "URL through the egress guard and follows its redirect (a test authorization server "
    "that approves at once); 'browser' prints the URL for a person. Tokens are kept in "
    "memory only.",
)
@click.option("--client-id", default=None, help="A pre-registered OAuth client id.")
@click.option(
    "--client-secret-env",
    default=None,
    metavar="VAR",
    help="Environment variable holding the pre-registered client's secret.",
)
@click.option(
    "--client-key-env",
    default=None,
    metavar="VAR",
    help="Environment variable holding a PEM private key: the client authenticates with "
    "signed JWT assertions (private_key_jwt, client_credentials grant).",
)
@click.option(
    "--client-key-alg",
    type=click.Choice(["ES256", "ES384", "RS256", "PS256", "EdDSA"]),
    default="ES256",
    show_default=True,
    help="Signing algorithm of --client-key-env.",
)
@click.option(
    "--client-metadata-url",
    default=None,
    help="https URL where this client's metadata document is published (used as the "
    "client id when the authorization server supports client id metadata documents).",
)
@click.option(
    "--client-credentials",
    is_flag=True,
    help="Machine to machine: the client_credentials grant with --client-id and its secret.",
)
@json_option
@handles_errors
def client(
    *,
    url: str,
    ranges: tuple[str, ...],
    exercise: bool,
    timeout: float,
    oauth_mode: str,
    client_id: str | None,
    client_secret_env: str | None,
    client_key_env: str | None,
    client_key_alg: str,
    client_metadata_url: str | None,
    client_credentials: bool,
    as_json: bool,
) -> None:
    """Connect to a streamable-HTTP MCP server with the proxy's client and report.

    The same path as a [servers] entry of agentor serve: the official SDK client,
    every request through the egress guard, each tool pinned on first sight in a
    throwaway pin file (trust on first use) after the poisoning scan, results
    bounded. Audited in the default audit log. With --oauth, the OAuth requests
    (metadata, registration, token) pass the same guard.
    """
    auth, store = _client_auth(
        oauth_mode,
        client_id,
        {"secret": client_secret_env, "key": client_key_env, "alg": client_key_alg},
        client_metadata_url,
        client_credentials,
    )
    _run_client(url, ranges, exercise, timeout, oauth_mode, auth, store, as_json)


_CLIENT_SECRET_NAME = "mcp-client.client-secret"  # noqa: S105  # nosec B105 - a name
_CLIENT_KEY_NAME = "mcp-client.client-key"


def _from_env(variable: str, store: Any, name: str) -> str:
    import os  # noqa: PLC0415

    value = os.environ.get(variable)
    if not value:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"environment variable {variable[:100]} is empty or unset",
            hint="export the client secret or key in that variable",
        )
    store.set(name, value)
    return name


def _client_auth(
    oauth_mode: str,
    client_id: str | None,
    credentials: dict[str, str | None],
    client_metadata_url: str | None,
    client_credentials: bool,
) -> tuple[Any, Any]:
    from pydantic import ValidationError  # noqa: PLC0415

    from agentor_mcp.oauth_config import AuthSection  # noqa: PLC0415
    from agentor_secrets import MemorySecretStore  # noqa: PLC0415

    secret_env, key_env = credentials.get("secret"), credentials.get("key")
    if oauth_mode == "off" and not client_credentials:
        if client_id or secret_env or key_env or client_metadata_url:
            raise AgentorError(
                CoreCode.INVALID_INPUT,
                "OAuth client options need --oauth follow|browser or --client-credentials",
                hint="add --oauth follow (test servers) or --oauth browser",
            )
        return None, None
    store = MemorySecretStore()
    secret_name = _from_env(secret_env, store, _CLIENT_SECRET_NAME) if secret_env else None
    key_name = _from_env(key_env, store, _CLIENT_KEY_NAME) if key_env else None
    try:
        auth = AuthSection.model_validate(
            {
                "type": "client_credentials" if client_credentials else "oauth",
                "client_id": client_id,
                "client_secret": secret_name,
                "client_assertion_key": key_name,
                "client_assertion_alg": credentials.get("alg") or "ES256",
                "client_metadata_url": client_metadata_url,
            }
        )
    except ValidationError as exc:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"not a usable OAuth setting: {exc.errors()[0]['msg']}",
            hint="see 'agentor mcp client --help'",
        ) from None
    return auth, store


def _run_client(
    url: str,
    ranges: tuple[str, ...],
    exercise: bool,
    timeout: float,
    oauth_mode: str,
    auth: Any,
    store: Any,
    as_json: bool,
) -> None:
    import tempfile  # noqa: PLC0415

    from pydantic import ValidationError  # noqa: PLC0415

    from agentor_audit import create_audit_sink  # noqa: PLC0415
    from agentor_core.capabilities import Capabilities  # noqa: PLC0415
    from agentor_core.tools import ToolCall  # noqa: PLC0415
    from agentor_mcp import OutsideServers, PinStore, ProxySection, ServerEntry  # noqa: PLC0415
    from agentor_mcp.annotations import example_arguments  # noqa: PLC0415
    from agentor_mcp.oauth import Interaction  # noqa: PLC0415
    from agentor_mcp.proxy import describe  # noqa: PLC0415

    try:
        entry = ServerEntry(url=url, address_ranges=ranges, timeout_seconds=timeout, auth=auth)
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
                egress_guard=outside_server_egress(store),
                secret_store=store,
                close_guard=True,
            )
            try:
                if oauth_mode != "off":
                    outside.set_oauth_interaction(
                        Interaction(
                            mode="browser" if oauth_mode == "browser" else "follow",
                            show_url=_show_url,
                            timeout_seconds=300.0 if oauth_mode == "browser" else timeout,
                        )
                    )
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


def _show_url(url: str) -> None:
    from agentor_cli.output import stderr  # noqa: PLC0415

    stderr().print(Text("Open this URL in a browser on this machine to authorize:"))
    stderr().print(Text(url), soft_wrap=True)


@mcp.command("login")
@config_option
@click.argument("server")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for approval.")
@json_option
@handles_errors
def login(*, config_path: Path, server: str, timeout: float, as_json: bool) -> None:
    """Authorize agentor to an OAuth-protected outside server, once.

    SERVER is a [servers.NAME] with an [servers.NAME.auth] table of type "oauth":
    prints the authorization URL, waits on a loopback redirect URI
    (http://127.0.0.1:PORT/callback) for the code, exchanges it (PKCE S256) and keeps
    the tokens and the client registration in the secret store. agentor serve then
    uses and refreshes them without asking.
    """
    from agentor_mcp.oauth import Interaction  # noqa: PLC0415
    from agentor_mcp.oauth_config import storage_names  # noqa: PLC0415

    outside, audit = _open(config_path, only=server)
    try:
        outside.set_oauth_interaction(
            Interaction(mode="browser", show_url=_show_url, timeout_seconds=timeout)
        )
        error = outside.refresh().get(server)
        listed = sum(1 for tool in outside.tools() if tool.served_name.startswith(f"{server}."))
    finally:
        outside.close()
        audit.close()
    if error is not None:
        raise error
    loaded = _load(config_path)
    tokens_name, client_name = storage_names(server, loaded.config.servers[server].url or "")
    if as_json:
        emit_json(
            {"ok": True, "server": server, "tools": listed, "secrets": [tokens_name, client_name]}
        )
    else:
        stdout().print(
            Text(f"authorized {server}: {listed} tools listed; tokens kept as {tokens_name}")
        )
