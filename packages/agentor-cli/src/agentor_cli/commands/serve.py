"""``agentor serve``: sandboxed WebAssembly tools for any MCP client (stdio or streamable HTTP).

The composition root of the main job: the sandbox runs the tools, the policy
decides every call, the audit log records it, and agentor-mcp-bridge speaks MCP.
With no ``--config`` it serves the embedded defaults in ``agentor_cli/defaults``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click
from rich.text import Text

from agentor_cli.composition import outside_server_egress, secret_store
from agentor_cli.output import emit_json, handles_errors, json_option, stderr, stdout
from agentor_cli.workers import Workers, combine
from agentor_cli.workers import start as start_workers
from agentor_core import discovery
from agentor_core.canonical import sha256_hex
from agentor_core.egress import HttpRequest, HttpResponse
from agentor_core.errors import AgentorError, CoreCode
from agentor_core.interfaces import AuditSink, EgressGuard, SecretStore
from agentor_core.tools import ToolSpec

if TYPE_CHECKING:
    from agentor_mcp import AgentorBridge, LoadedConfig, Toolbox
    from agentor_sandbox import SandboxRuntime
    from agentor_toolkit.manifest import Manifest

DEFAULTS_DIR: Final = Path(__file__).resolve().parent.parent / "defaults"
DEFAULT_CONFIG: Final = DEFAULTS_DIR / "agentor.toml"
TOOL_LOGGER: Final = "agentor_sandbox.tool"
"""Where agentor-sandbox writes guest log lines (with ``call_id``); forwarded to MCP clients."""
CHECK_TOOL: Final = "echo"
CHECK_ARGS: Final = '{"text": "agentor serve --check"}'
MAX_CHECK_ARGS_BYTES: Final = 64 * 1024
RELOAD_INTERVAL_SECONDS: Final = 1.0
RETIRE_AFTER_SECONDS: Final = 120.0
"""An old runtime is closed this long after a reload: longer than any call's deadline."""


class _LazyEgress:
    """The installed EgressGuard, built when a tool sends its first request.

    Building it imports httpx and loads the system's CA certificates: about half
    a second at every start and reload, which a toolbox whose tools never reach
    the network should not pay. A guard that fails to build refuses that request
    with its error code, as any egress refusal. Closed with the runtime that uses
    it (at shutdown, or when a reload retires that runtime): the guard's pooled
    connections are released, and a later request is refused.
    """

    def __init__(self, secrets: SecretStore | None) -> None:
        self._lock = threading.Lock()
        self._secrets = secrets
        self._guard: EgressGuard | None = None
        self.closed = False

    @staticmethod
    def installed() -> bool:
        return bool(discovery.implementations(EgressGuard))

    def send(self, request: HttpRequest, grant: Any) -> HttpResponse:
        with self._lock:
            if self.closed:
                raise AgentorError(
                    CoreCode.IMPLEMENTATION_MISSING,
                    "the egress guard of this toolbox was closed (the server is stopping "
                    "or a reload replaced the toolbox)",
                    hint="retry the call: it runs on the current toolbox",
                )
            if self._guard is None:
                self._guard = discovery.create(
                    EgressGuard,  # type: ignore[type-abstract]
                    secrets=self._secrets,
                )
            guard = self._guard
        return guard.send(request, grant)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            guard, self._guard = self._guard, None
        close = getattr(guard, "close", None)  # close() is not part of the Protocol
        if callable(close):
            close()


@dataclass
class _ProgressForward:
    """The runtime is built before the bridge; progress goes wherever the bridge says."""

    target: Any = None

    def __call__(self, event: object) -> None:
        if self.target is not None:
            self.target(event)


@dataclass(frozen=True, slots=True)
class Signing:
    """``--require-signed`` and ``--trust`` from the command line, on top of ``[toolbox]``."""

    require: bool = False
    trust: tuple[Path, ...] = ()


@dataclass
class Served:
    bridge: AgentorBridge
    runtime: SandboxRuntime
    audit: AuditSink
    config: LoadedConfig
    tools: list[str] = field(default_factory=list)
    log_handler: logging.Handler | None = None
    forward: _ProgressForward = field(default_factory=_ProgressForward)
    retired: list[tuple[float, SandboxRuntime]] = field(default_factory=list)
    """Runtimes replaced by a reload, with when; closed once no call can still use them."""
    egress: dict[int, _LazyEgress] = field(default_factory=dict)
    """The egress guard of each runtime (by ``id``), closed with it."""
    watched: str = ""
    outside: Any = None
    """agentor_mcp.OutsideServers for the [servers] of agentor.toml (None until there are any)."""
    signing: Signing = field(default_factory=Signing)

    def close(self) -> None:
        if self.outside is not None:
            self.outside.close()
        if self.log_handler is not None:
            logging.getLogger(TOOL_LOGGER).removeHandler(self.log_handler)
        for _when, old in self.retired:
            self._close_runtime(old)
        self.retired.clear()
        self._close_runtime(self.runtime)
        self.audit.close()

    def _close_runtime(self, runtime: SandboxRuntime) -> None:
        runtime.close()
        guard = self.egress.pop(id(runtime), None)
        if guard is not None:
            guard.close()

    def reload(self) -> bool:
        """Re-read agentor.toml, the policy and the tools if any changed; swap them atomically.

        Returns whether a new toolbox is served. A configuration that fails to load
        is refused as a whole (the running toolbox stays, the failure is printed and
        audited); nothing is ever half-applied. Outside servers (``[servers]``,
        ``[proxy]``) follow the new configuration: new and changed ones start,
        removed ones stop, unchanged ones keep running, and every tool is listed
        and checked against the (re-read) pin file again. Audit, server and http
        settings are read at start only.
        """
        from agentor_core.audit import AuditEvent, AuditEventType  # noqa: PLC0415

        now = time.monotonic()
        for when, old in list(self.retired):
            if now - when > RETIRE_AFTER_SECONDS:
                self._close_runtime(old)
                self.retired.remove((when, old))
        fingerprint = _fingerprint(self.config)
        if fingerprint == self.watched:
            return False
        self.watched = fingerprint
        fresh = None
        try:
            loaded = _reload_config(self.config.source)
            outside, plan, fresh = self._plan_outside(loaded)
            toolbox, runtime, egress = _compose(
                loaded,
                self.forward,
                outside if loaded.config.servers else None,
                self.signing,
                plan=plan,
            )
        except AgentorError as exc:
            if fresh is not None:
                fresh.close()
            stderr().print(Text(f"reload refused, still serving the previous toolbox: {exc}"))
            self._audit_reload(AuditEventType, AuditEvent, fingerprint, exc.code)
            return False
        except BaseException:
            if fresh is not None:
                fresh.close()
            raise
        # Checked and composed: only now does anything running change.
        servers = outside.apply(plan) if outside is not None and plan is not None else {}
        old_runtime = self.runtime
        self.bridge.replace_toolbox(toolbox)
        self.runtime, self.config, self.outside = runtime, loaded, outside
        if egress is not None:
            self.egress[id(runtime)] = egress
        self.retired.append((now, old_runtime))
        if outside is not None and loaded.config.servers:
            # Start new servers, list every server's tools and decide them against the
            # pins now, so list_changed announces what a client will really see.
            try:
                outside.refresh()
            except Exception as exc:  # noqa: BLE001 - served already; the next listing retries
                stderr().print(Text(f"listing outside servers failed: {type(exc).__name__}"))
        self.tools = list(self.bridge.tool_names())
        self._audit_reload(AuditEventType, AuditEvent, fingerprint, "ok", servers)
        stderr().print(Text(f"reloaded {loaded.source}: {len(self.tools)} tools"))
        return True

    def _plan_outside(self, loaded: LoadedConfig) -> tuple[Any, Any, Any]:
        """``(outside, plan, fresh)``: the servers' object, its checked plan, and whether new.

        Nothing starts or stops here; a plan that fails refuses the reload.
        """
        outside, fresh = self.outside, None
        if outside is None:
            if not loaded.config.servers:
                return None, None, None
            outside = fresh = _outside_servers(loaded, self.audit, empty=True)
        try:
            plan = outside.plan(
                loaded.config.servers,
                base=loaded.base,
                proxy=loaded.config.proxy,
                pin_file=loaded.resolve(loaded.config.proxy.pin_file),
            )
        except BaseException:
            if fresh is not None:
                fresh.close()
            raise
        return outside, plan, fresh

    def _audit_reload(
        self,
        kinds: Any,
        event: Any,
        fingerprint: str,
        outcome: str,
        servers: dict[str, list[str]] | None = None,
    ) -> None:
        policy_hash = getattr(self.bridge.toolbox.policy, "policy_hash", None)
        detail: dict[str, Any] = {"config": str(self.config.source), "fingerprint": fingerprint}
        if servers:
            detail["servers"] = servers
        self.audit.append(
            event(
                type=kinds.CONFIG_CHANGED,
                time=datetime.now(UTC),
                outcome=outcome,
                policy_hash=policy_hash if isinstance(policy_hash, str) else None,
                detail=detail,
            )
        )

    async def watch(self) -> None:
        """Poll for changes every second; announce a reload with list_changed notifications."""
        self.watched = await asyncio.to_thread(_fingerprint, self.config)
        while True:
            await asyncio.sleep(RELOAD_INTERVAL_SECONDS)
            try:
                changed = await asyncio.to_thread(self.reload)
            except Exception as exc:  # noqa: BLE001 - e.g. the audit log failed; keep serving
                stderr().print(Text(f"reload failed: {type(exc).__name__}: {exc}"))
                continue
            if changed:
                await self.bridge.notify_list_changed()


def _watched_files(loaded: LoadedConfig) -> list[Path]:
    files = [loaded.source, loaded.resolve(loaded.config.policy.file)]
    files += [loaded.resolve(entry.file) for entry in loaded.config.tools]
    if loaded.config.servers:
        # 'agentor mcp pin' in another process: approved tools appear without a restart.
        files.append(loaded.resolve(loaded.config.proxy.pin_file))
    return files


def _fingerprint(loaded: LoadedConfig) -> str:
    """Size, mtime and inode of every file a reload reads: cheap enough to poll each second."""
    parts = []
    for path in _watched_files(loaded):
        try:
            info = path.stat()
            parts.append(f"{path}:{info.st_size}:{info.st_mtime_ns}:{info.st_ino}")
        except OSError:
            parts.append(f"{path}:missing")
    return sha256_hex("\n".join(parts).encode())


def _reload_config(path: Path) -> LoadedConfig:
    from agentor_mcp import load_config  # noqa: PLC0415

    return load_config(path)


def _admit(
    wasm: bytes, path: Path, name: str, loaded: LoadedConfig, signing: Signing
) -> Manifest | None:
    """Refuse a tool file unless signed by a trusted key (when required); check any signature.

    Returns the signed manifest of a generic component (its reflected tools), else None.
    """
    from agentor_cli.commands.trust import trust_store  # noqa: PLC0415 - cryptography is slow
    from agentor_toolkit.admission import admit_bytes  # noqa: PLC0415
    from agentor_toolkit.signing import signature_path  # noqa: PLC0415

    section = loaded.config.toolbox
    require = signing.require or section.require_signed
    if not require and not signature_path(path).is_file():
        return None
    keys = (*signing.trust, *(loaded.resolve(key) for key in section.trusted_keys))
    try:
        # The bytes checked are the bytes loaded: the path is never read again.
        admitted = admit_bytes(wasm, path, None, trust=trust_store(keys), require_signature=require)
    except AgentorError as exc:
        raise AgentorError(
            exc.code, f"tool {name!r} ({path}): {exc.message}", hint=exc.error.hint
        ) from None
    return admitted.manifest if admitted.generic else None


def _load_tools(
    runtime: SandboxRuntime, loaded: LoadedConfig, signing: Signing | None = None
) -> tuple[dict[str, ToolSpec], set[str]]:
    from agentor_mcp import McpCode  # noqa: PLC0415 - see build()

    overrides: dict[str, ToolSpec] = {}
    content_tools: set[str] = set()
    for entry in loaded.config.tools:
        path = loaded.resolve(entry.file)
        try:
            if path.stat().st_size > 256 * 1024 * 1024:
                raise OSError("larger than 256 MiB")
            wasm = path.read_bytes()
        except OSError as exc:
            raise AgentorError(
                McpCode.CONFIG_INVALID,
                f"{loaded.source}: tool file {path} cannot be read ({exc})",
                hint="fix the 'file' of this [[tools]] entry",
            ) from None
        signed = _admit(wasm, path, entry.name or path.stem, loaded, signing or Signing())
        specs = runtime.load_bytes(wasm, source=path.name, default_name=entry.name or path.stem)
        if signed is not None and _dumped(specs) != _dumped(signed.tools):
            # The signature covers the tools as reflected at signing; serve exactly those.
            from agentor_toolkit.errors import ToolkitCode  # noqa: PLC0415

            raise AgentorError(
                ToolkitCode.MANIFEST_MISMATCH,
                f"tool {entry.name or path.stem!r} ({path}): the sandbox serves other tools "
                "than the signature covers",
                hint="do not serve it; check that agentor-sandbox and agentor-toolkit match",
            )
        for spec in specs:
            override = entry.override(spec) if entry.name in {None, spec.name} else None
            if override is not None:
                overrides[spec.name] = override
            if entry.result == "content" and entry.name in {None, spec.name}:
                content_tools.add(spec.name)
    return overrides, content_tools


def _dumped(specs: Any) -> list[dict[str, Any]]:
    return sorted(
        (spec.model_dump(mode="json", exclude_defaults=True) for spec in specs),
        key=lambda spec: str(spec["name"]),
    )


def _compose(
    loaded: LoadedConfig,
    forward: _ProgressForward,
    outside: Any = None,
    signing: Signing | None = None,
    *,
    plan: Any = None,
) -> tuple[Toolbox, SandboxRuntime, _LazyEgress | None]:
    """A fresh runtime with the tools loaded, the policy, resources and prompts, and
    its egress guard (closed with the runtime).

    With outside MCP servers, the toolbox serves both behind one ComposedRuntime
    (``plan``: names are checked against the servers a reload is about to apply).
    """
    from agentor_mcp import ComposedRuntime, PromptBook, ResourceStore, Toolbox  # noqa: PLC0415
    from agentor_policy import PolicyHolder  # noqa: PLC0415
    from agentor_sandbox import SandboxRuntime  # noqa: PLC0415

    secrets = secret_store()
    # Without an installed guard, http-fetch is refused (sandbox.egress_unavailable).
    egress = _LazyEgress(secrets) if _LazyEgress.installed() else None
    runtime = SandboxRuntime(egress_guard=egress, secret_store=secrets, on_progress=forward)
    try:
        overrides, content_tools = _load_tools(runtime, loaded, signing)
        section = loaded.config.resources
        resources = ResourceStore(section, loaded.base) if section is not None else None
        prompts = PromptBook(loaded.config.prompts, resources)
        policy = PolicyHolder.from_file(loaded.resolve(loaded.config.policy.file))
        served = runtime if outside is None else ComposedRuntime(runtime, outside, plan=plan)
    except BaseException:
        runtime.close()
        if egress is not None:
            egress.close()
        raise
    toolbox = Toolbox(
        runtime=served,
        policy=policy,
        overrides=overrides,
        resources=resources,
        prompts=prompts,
        content_tools=frozenset(content_tools),
    )
    return toolbox, runtime, egress


def build(config: Path | None, signing: Signing | None = None) -> Served:
    """Compose sandbox, policy, audit and bridge from ``config`` (default: the embedded one)."""
    # Imported here, not at the top: mcp and wasmtime take seconds to import, and
    # every other agentor command would pay for them.
    from agentor_audit import create_audit_sink  # noqa: PLC0415
    from agentor_mcp import AgentorBridge, load_config  # noqa: PLC0415

    loaded = load_config(config or DEFAULT_CONFIG)
    forward = _ProgressForward()
    audit_path = loaded.config.audit.path
    audit = create_audit_sink(
        path=loaded.resolve(audit_path) if audit_path else None,
        durability=loaded.config.audit.durability,
    )
    outside = None
    try:
        outside = _outside_servers(loaded, audit)
        toolbox, runtime, egress = _compose(loaded, forward, outside, signing)
    except BaseException:
        if outside is not None:
            outside.close()
        audit.close()
        raise
    try:
        server = loaded.config.server
        bridge = AgentorBridge(
            toolbox.runtime,
            toolbox.policy,
            audit,
            name=server.name,
            instructions=server.instructions,
            spec_overrides=toolbox.overrides,
            resources=toolbox.resources,
            prompts=toolbox.prompts,
            content_tools=toolbox.content_tools,
        )
    except BaseException:
        runtime.close()
        if egress is not None:
            egress.close()
        if outside is not None:
            outside.close()
        audit.close()
        raise
    forward.target = bridge.progress_sink
    # Guest log lines reach the client as MCP logging notifications of their call.
    handler = bridge.log_handler()
    tool_logger = logging.getLogger(TOOL_LOGGER)
    tool_logger.setLevel(logging.DEBUG)
    tool_logger.addHandler(handler)
    return Served(
        bridge,
        runtime,
        audit,
        loaded,
        list(bridge.tool_names()),
        handler,
        forward,
        outside=outside,
        signing=signing or Signing(),
        egress={id(runtime): egress} if egress is not None else {},
    )


def _outside_servers(loaded: LoadedConfig, audit: AuditSink, *, empty: bool = False) -> Any:
    """The [servers] of agentor.toml behind agentor-mcp-bridge's proxy, or None.

    ``empty``: no servers yet (a reload adds them through a checked plan).
    """
    if not loaded.config.servers:
        return None
    from agentor_mcp import OutsideServers, PinStore  # noqa: PLC0415

    secrets = secret_store()
    return OutsideServers(
        {} if empty else loaded.config.servers,
        base=loaded.base,
        pins=PinStore(loaded.resolve(loaded.config.proxy.pin_file)),
        audit=audit,
        proxy=loaded.config.proxy,
        egress_guard=outside_server_egress(secrets),
        secret_store=secrets,
        close_guard=True,
    )


def _start_workers(
    config_path: Path | None, http_address: str | None, count: int, stateless: bool
) -> Workers | None:
    """``--workers N``: bind the port and fork N-1 workers (stateless HTTP only)."""
    if count == 1:
        return None
    from agentor_mcp import McpCode, load_config, parse_address  # noqa: PLC0415

    if http_address is None:
        raise AgentorError(
            McpCode.CONFIG_INVALID,
            "--workers applies to HTTP only",
            hint="add --http 127.0.0.1:PORT, or leave --workers out for stdio",
        )
    if not (stateless or load_config(config_path or DEFAULT_CONFIG).config.http.stateless):
        raise AgentorError(
            McpCode.CONFIG_INVALID,
            "--workers needs stateless HTTP: a session would live in one worker process only",
            hint="add --stateless (or stateless = true under [http] in agentor.toml)",
        )
    host, port = parse_address(http_address)
    return start_workers(host, port, count)


def _check_arguments(raw: str) -> dict[str, Any]:
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_CHECK_ARGS_BYTES:
        raise AgentorError(CoreCode.INVALID_INPUT, "--check-args is too large")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"--check-args is not JSON: {exc}",
            hint='pass a JSON object, e.g. --check-args \'{"text": "hi"}\'',
        ) from None
    if not isinstance(value, dict):
        raise AgentorError(CoreCode.INVALID_INPUT, "--check-args must be a JSON object")
    return value


@click.command("serve")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="agentor.toml: tools, policy, audit, http. Default: the embedded toolbox and policy.",
)
@click.option("--http", "http_address", default=None, help="Serve streamable HTTP on HOST:PORT.")
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Bearer tokens, one per line (chmod 600). Required for a non-loopback --http.",
)
@click.option(
    "--allowed-host", multiple=True, help="Extra Host header to accept over HTTP (repeatable)."
)
@click.option(
    "--stateless", is_flag=True, help="HTTP without sessions (several processes behind one LB)."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="HTTP worker processes accepting on one port (POSIX; needs --stateless).",
)
@click.option(
    "--reload/--no-reload",
    default=True,
    show_default=True,
    help="Watch agentor.toml, the policy and the tool files; swap in changes atomically.",
)
@click.option(
    "--check", is_flag=True, help="Start, list tools, make one call, print the outcome, exit."
)
@click.option(
    "--require-signed",
    is_flag=True,
    help="Refuse tool files unless a trusted key signed them (as [toolbox] require_signed).",
)
@click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A trusted .pub file or folder of them (repeatable; default: the config trust folder).",
)
@click.option("--check-tool", default=CHECK_TOOL, show_default=True, help="Tool for --check.")
@click.option("--check-args", default=CHECK_ARGS, show_default=True, help="Arguments for --check.")
@json_option
@handles_errors
def serve(
    *,
    config_path: Path | None,
    http_address: str | None,
    token_file: Path | None,
    allowed_host: tuple[str, ...],
    stateless: bool,
    workers: int,
    reload: bool,
    check: bool,
    require_signed: bool,
    trust: tuple[Path, ...],
    check_tool: str,
    check_args: str,
    as_json: bool,
) -> None:
    """Serve sandboxed tools over MCP: stdio by default, or streamable HTTP with --http.

    Every tools/call passes the policy, a person's approval when the policy asks
    (MCP elicitation), the audit log and a fresh WebAssembly sandbox.
    """
    from agentor_mcp import HttpSettings, parse_address, run_http, run_stdio, self_check  # noqa: PLC0415

    # Forked before build(): no thread exists yet, and each worker builds its own parts.
    pool = None if check else _start_workers(config_path, http_address, workers, stateless)
    try:
        served = build(config_path, Signing(require_signed, trust))
    except BaseException:
        if pool is not None:
            pool.stop()
        raise
    try:
        if check:
            report = self_check(served.bridge, check_tool, _check_arguments(check_args))
            ok = bool(report["ok"])
            if as_json:
                emit_json(report)
            else:
                console = stdout()
                console.print(Text(f"server   {report['server']} ({report['protocol_version']})"))
                console.print(Text(f"tools    {', '.join(report['tools'])}"))
                outcome = "ok" if ok else "error"
                console.print(Text(f"call     {check_tool}: {outcome} {report['call']['text']}"))
            if not ok:
                sys.exit(1)
            return
        http = served.config.config.http
        note = stderr()
        if http_address is None:
            note.print(
                Text(
                    f"agentor serve: {len(served.tools)} tools over stdio ({served.config.source})"
                )
            )
            run_stdio(served.bridge, background=served.watch if reload else None)
            return
        host, port = parse_address(http_address)
        tokens = token_file or (served.config.resolve(http.token_file) if http.token_file else None)
        settings = HttpSettings(
            host=host,
            port=port,
            token_file=tokens,
            allowed_hosts=allowed_host or http.allowed_hosts,
            stateless=stateless or http.stateless,
        )
        note.print(Text(f"agentor serve: {len(served.tools)} tools on http://{http_address}/mcp"))
        follow = pool.follow_parent if pool is not None and pool.is_worker else None
        run_http(
            served.bridge,
            settings,
            background=combine(served.watch if reload else None, follow),
            listener=pool.listener if pool is not None else None,
        )
    finally:
        served.close()
        if pool is not None:
            pool.stop()
