"""Outside MCP servers as a ``ToolRuntime``: their tools, pinned, scanned and bounded.

``OutsideServers`` connects to the ``[servers.NAME]`` of agentor.toml with the
official SDK client (``mcp.Client``), lists their tools as ``NAME.tool`` and
runs calls on them. It is a ``ToolRuntime``, so the bridge puts every call
through policy → approval → audit exactly as for sandboxed tools;
``ComposedRuntime`` serves both side by side.

A tool is served only when its pin (RFC 8785 canonical JSON of name, title,
description, schemas, annotations) equals the approved one in the pin file and
its description and schemas pass the poisoning scan as the config demands.
Every listing re-reads the servers' tools, so a description that changes after
approval (a rug pull) disables the tool at once; each pin change, new tool and
finding is an audit event. Calls fail closed with stable codes: a server that
exited is restarted on demand (at most once per ``restart_seconds``), a call
that outlives its timeout ends, a result that is too large or of a content type
not accepted is withheld.

The SDK's client runs on an event loop in a thread of its own, so the runtime
can be used from any thread or loop (the bridge's server, ``agentor run``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from agentor_core.audit import AuditEvent, AuditEventType
from agentor_core.canonical import canonical_json
from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError, ToolError
from agentor_core.interfaces import AuditSink, EgressGuard, SecretStore
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.tools import (
    AudioContent,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    JsonContent,
    TextContent,
    ToolCall,
    ToolResult,
    ToolSpec,
)
from agentor_mcp.__about__ import __version__
from agentor_mcp.codes import McpCode
from agentor_mcp.guarded_http import GuardRefusedError, Refusals
from agentor_mcp.oauth import Interaction, authorized_client
from agentor_mcp.outside_catalog import RESERVED_TOOL_NAMES
from agentor_mcp.pinning import MAX_TOOLS_PER_SERVER, PinStatus, PinStore, tool_pin
from agentor_mcp.poisoning import Finding, Hit, scan_tool
from agentor_mcp.stdio_upstream import clean_stdio
from agentor_mcp.upstream import ProxySection, ServerEntry

_log = logging.getLogger(__name__)

HIGH_SEVERITY: Final = frozenset(
    {Finding.UNICODE_TAGS, Finding.INVISIBLE, Finding.CONTROL, Finding.INSTRUCTIONS}
)
"""Findings refused by default: hidden text and text addressed to the model."""
_UNTRUSTED: Final = LabelSet.of(Label.of(Source.UNTRUSTED_TOOL))
_MAX_PAGES: Final = 64
_MAX_ERROR_CHARS: Final = 2000
_MAX_AUDITED: Final = 100_000
_JSON_SCHEMA_2020_12: Final = "https://json-schema.org/draft/2020-12/schema"


def _error(code: str, message: str, hint: str | None = None) -> ToolError:
    return AgentorError(code, message[:4000], hint=hint).error


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OutsideTool:
    """One tool an outside server lists, and what the proxy decided about it."""

    server: str
    name: str
    """The upstream name; served as ``server.name``."""
    served_name: str
    pin: str
    status: PinStatus
    hits: tuple[Hit, ...]
    spec: ToolSpec | None
    """``None`` when the tool cannot be described in agentor's bounded model."""
    refusal: AgentorError | None
    """Why it is not served; ``None`` when it is."""
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def _spec_of(served_name: str, tool: types.Tool) -> ToolSpec:
    def schema(value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        # Many servers declare draft-07; the bridge validates with 2020-12 semantics,
        # which agree on the keywords tool schemas use. The pin covers the original.
        declared = value.get("$schema")
        if declared is not None and declared != _JSON_SCHEMA_2020_12:
            value = {k: v for k, v in value.items() if k != "$schema"}
        return value

    return ToolSpec(
        name=served_name,
        title=tool.title,
        description=tool.description or "",
        input_schema=schema(tool.input_schema) or {"type": "object", "properties": {}},
        output_schema=schema(tool.output_schema),
    )


def _reason(exc: BaseException) -> str:
    """The first real failure inside task-group wrappers, e.g. the egress guard's refusal."""
    for _ in range(16):
        if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        elif isinstance(exc, GuardRefusedError):
            return str(exc)[:600]
        elif exc.__cause__ is not None and not isinstance(exc, AgentorError):
            exc = exc.__cause__
        else:
            break
    return f"{type(exc).__name__}: {str(exc)[:300]}"


class _Upstream:
    """One outside server's connection, owned by a task on the proxy's loop."""

    def __init__(
        self,
        name: str,
        entry: ServerEntry,
        base: Path,
        guard: EgressGuard | None,
        secrets: SecretStore | None,
    ) -> None:
        self.name = name
        self.entry = entry
        self.base = base
        self._guard = guard
        self._secrets = secrets
        self.client: Client | None = None
        self._ended: anyio.Event | None = None
        self._owner: asyncio.Task[None] | None = None
        self._last_start = -1e18
        self._lock: asyncio.Lock | None = None
        self.starts = 0
        self.interaction = Interaction()
        self.refusals = Refusals()
        """Messages the egress guard refused for their content (answered locally)."""

    def _transport(self, ended: anyio.Event) -> AbstractAsyncContextManager[Any]:
        entry = self.entry
        if entry.command is not None:
            return clean_stdio(
                self._argv(),
                env=self._environment(),
                cwd=self._resolve(entry.cwd) if entry.cwd else self.base,
                max_message_bytes=entry.max_message_bytes,
                exited=ended,
            )
        if self._guard is None:
            raise AgentorError(
                McpCode.UPSTREAM_UNAVAILABLE,
                f"outside server {self.name} is an HTTP URL but no egress guard is installed",
                hint="install agentor-egress: HTTP servers are reached only through it",
            )
        # [servers.NAME.auth]: OAuth / bearer, its requests through the same guard (oauth.py).
        client = authorized_client(
            self.name, entry, self._guard, self._secrets, self.interaction, self.refusals
        )
        return streamable_http_client(entry.url or "", http_client=client)

    def _resolve(self, relative: str) -> Path:
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base / path

    def _argv(self) -> list[str]:
        import shutil  # noqa: PLC0415

        argv = list(self.entry.command or ())
        program = argv[0]
        if "/" in program:
            argv[0] = str(self._resolve(program))
        else:
            # A bare name is looked up on the host PATH once, here; the child gets no PATH
            # unless the operator grants one.
            found = shutil.which(program, path=self.entry.env.get("PATH"))
            if found is None:
                raise AgentorError(
                    McpCode.UPSTREAM_UNAVAILABLE,
                    f"outside server {self.name}: program {program[:200]!r} not found",
                    hint="give an absolute path or one relative to agentor.toml in command",
                )
            argv[0] = found
        return argv

    def _environment(self) -> dict[str, str]:
        env = dict(self.entry.env)
        for variable, secret in self.entry.secret_env.items():
            value = None
            if self._secrets is not None:
                try:
                    value = self._secrets.reveal(secret)
                except Exception:  # noqa: BLE001 - a failing store is a missing secret
                    _log.exception("secret store failed")
            if value is None:
                raise AgentorError(
                    McpCode.UPSTREAM_UNAVAILABLE,
                    f"outside server {self.name} needs secret {secret} (for {variable}), "
                    "which is not in the secret store",
                    hint=f"agentor secret set {secret}",
                )
            env[variable] = value
        return env

    async def _own(self, ready: asyncio.Future[None]) -> None:
        ended = anyio.Event()
        self._ended = ended
        try:
            async with Client(
                self._transport(ended),
                cache=None,  # every listing must reach the server: pins are checked on it
                read_timeout_seconds=self.entry.timeout_seconds,
                client_info=types.Implementation(name="agentor-proxy", version=__version__),
            ) as client:
                self.client = client
                ready.set_result(None)
                await ended.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(
                    exc if isinstance(exc, Exception) else RuntimeError("cancelled")
                )
            if not isinstance(exc, Exception):
                raise
            _log.debug("outside server %s connection ended", self.name, exc_info=True)
        finally:
            # A restart may already own the fields: only this connection's are cleared.
            if self._ended is ended:
                self.client = None
            ended.set()

    def _unavailable(self, why: str) -> AgentorError:
        return AgentorError(
            McpCode.UPSTREAM_UNAVAILABLE,
            f"outside server {self.name} is not available: {why}"[:4000],
            hint="check the [servers] entry and the server's own logs; "
            f"it is restarted on the next use after {self.entry.restart_seconds:g} s",
        )

    async def connected(self) -> Client:
        """The live client, starting (or restarting) the server if it is down."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.client is not None and self._ended is not None and not self._ended.is_set():
                return self.client
            now = time.monotonic()
            if now - self._last_start < self.entry.restart_seconds:
                raise self._unavailable("it exited; waiting before the next restart")
            self._last_start = now
            self.starts += 1
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._owner = asyncio.get_running_loop().create_task(self._own(ready))
            try:
                async with asyncio.timeout(self.entry.timeout_seconds):
                    await ready
            except TimeoutError:
                # Wait for the owner to leave the transport: its pipes and process are
                # released now, not whenever the garbage collector finds them.
                await self.wait_stopped()
                raise self._unavailable("it did not finish the MCP handshake in time") from None
            except AgentorError:
                raise
            except Exception as exc:  # noqa: BLE001 - any start failure means down, with the reason
                raise self._unavailable(_reason(exc)) from None
            if self.client is None:
                raise self._unavailable("the connection ended during the handshake")
            return self.client

    @property
    def ended(self) -> bool:
        return self._ended is None or self._ended.is_set()

    def mark_down(self) -> None:
        if self._ended is not None:
            self._ended.set()

    def stop(self) -> None:
        self.mark_down()
        # The owner leaves the client context itself once `ended` is set; cancel
        # only if it is stuck in the handshake.
        if self._owner is not None and not self._owner.done() and self.client is None:
            self._owner.cancel()

    async def wait_stopped(self) -> None:
        self.stop()
        if self._owner is not None:
            try:
                async with asyncio.timeout(10):
                    await asyncio.shield(self._owner)
            except (TimeoutError, asyncio.CancelledError, Exception):  # noqa: BLE001
                self._owner.cancel()


@dataclass(frozen=True, slots=True)
class ServerPlan:
    """A checked new ``[servers]`` and ``[proxy]``: what :meth:`OutsideServers.apply` will do.

    Made by :meth:`OutsideServers.plan`, which starts and stops nothing, so a
    reload can refuse the whole new configuration before anything changes.
    """

    servers: Mapping[str, ServerEntry]
    base: Path
    proxy: ProxySection
    pins: PinStore
    start: tuple[str, ...]
    """New servers, and changed ones (started again with their new entry)."""
    stop: tuple[str, ...]
    """Removed servers, and changed ones (their old process is stopped)."""
    keep: tuple[str, ...]
    """Unchanged servers: their connection and process keep running."""

    def owns(self, tool: str) -> bool:
        server, dot, _rest = tool.partition(".")
        return bool(dot) and server in self.servers

    def summary(self) -> dict[str, list[str]]:
        changed = sorted(set(self.start) & set(self.stop))
        return {
            "started": sorted(set(self.start) - set(changed)),
            "restarted": changed,
            "stopped": sorted(set(self.stop) - set(changed)),
            "kept": sorted(self.keep),
        }


class OutsideServers:
    """A ``ToolRuntime`` over outside MCP servers, namespaced ``server.tool``."""

    def __init__(
        self,
        servers: Mapping[str, ServerEntry],
        *,
        base: Path,
        pins: PinStore,
        audit: AuditSink,
        proxy: ProxySection | None = None,
        egress_guard: EgressGuard | None = None,
        secret_store: SecretStore | None = None,
        clock: Callable[[], datetime] = _now,
        close_guard: bool = False,
    ) -> None:
        """``close_guard``: this object owns ``egress_guard`` and closes it in :meth:`close`."""
        self.proxy = proxy or ProxySection()
        self._guard = egress_guard if close_guard else None
        self._egress = egress_guard
        self._secrets = secret_store
        self._base = base
        self.pins = pins
        self._audit = audit
        self._clock = clock
        self._upstreams = {
            name: _Upstream(name, entry, base, egress_guard, secret_store)
            for name, entry in servers.items()
        }
        self._tools: dict[str, OutsideTool] = {}
        self._refreshed = False
        self._state_lock = threading.Lock()
        self._audited: set[tuple[str, str, str, str]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="agentor-mcp-proxy", daemon=True
        )
        self._thread.start()
        self._closed = False

    # -- running coroutines on the proxy's loop ------------------------------------------

    def _submit(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _wait(self, coroutine: Any, timeout: float) -> Any:
        future = self._submit(coroutine)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        """Stop every outside server and the proxy's loop."""
        if self._closed:
            return
        self._closed = True

        async def stop_all() -> None:
            await asyncio.gather(*(u.wait_stopped() for u in self._upstreams.values()))

        try:
            self._wait(stop_all(), 30)
        except Exception:  # noqa: BLE001 - closing must not raise; the processes are killed below
            _log.debug("stopping outside servers", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()
        closer = getattr(self._guard, "close", None)
        if callable(closer):
            closer()

    def __enter__(self) -> OutsideServers:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def set_oauth_interaction(self, interaction: Interaction) -> None:
        """How OAuth servers get a person's authorization (default: never; see oauth.py).

        For ``agentor mcp login`` and ``agentor mcp client``; servers started later by a
        reload keep the default.
        """
        for upstream in self._upstreams.values():
            upstream.interaction = interaction

    @property
    def server_names(self) -> list[str]:
        return sorted(self._upstreams)

    # -- reconfiguration (agentor serve's reload) ---------------------------------------

    def plan(
        self,
        servers: Mapping[str, ServerEntry],
        *,
        base: Path,
        proxy: ProxySection,
        pin_file: Path,
    ) -> ServerPlan:
        """Check a new ``[servers]``/``[proxy]`` against the running ones; change nothing.

        A stdio program that cannot be found, or an HTTP server without an egress
        guard, refuses the whole plan with ``mcp.config_invalid`` naming the server;
        an unreadable pin file (read again here) with ``mcp.pins_invalid``.
        """
        current = self._upstreams
        start: list[str] = []
        keep: list[str] = []
        for name, entry in sorted(servers.items()):
            old = current.get(name)
            if old is not None and old.entry == entry and old.base == base:
                keep.append(name)
                continue
            start.append(name)
            probe = _Upstream(name, entry, base, self._egress, self._secrets)
            try:
                if entry.command is not None:
                    program = Path(probe._argv()[0])
                    if not (program.is_file() and os.access(program, os.X_OK)):
                        raise probe._unavailable(f"{program} is not an executable file")
                elif self._egress is None:
                    raise probe._unavailable("it is an HTTP URL and no egress guard is installed")
            except AgentorError as exc:
                raise AgentorError(
                    McpCode.CONFIG_INVALID,
                    f"[servers.{name}]: {exc.message}",
                    hint=exc.error.hint,
                ) from None
        stop = [name for name in sorted(current) if name not in keep]
        # Re-read: approvals made since (by 'agentor mcp pin') count from now on.
        pins = PinStore(pin_file)
        return ServerPlan(
            servers=dict(servers),
            base=base,
            proxy=proxy,
            pins=pins,
            start=tuple(start),
            stop=tuple(stop),
            keep=tuple(keep),
        )

    def apply(self, plan: ServerPlan) -> dict[str, list[str]]:
        """Stop removed and changed servers (their process groups), add new ones, keep the rest.

        New servers start on first use (the next listing); their tools, and every
        other server's, are decided again against the pins by :meth:`refresh`.
        Returns :meth:`ServerPlan.summary`.
        """
        if self._closed:
            raise AgentorError(McpCode.RUNTIME_FAILED, "the outside servers are closed")
        stopping = [self._upstreams[name] for name in plan.stop if name in self._upstreams]
        upstreams = {name: self._upstreams[name] for name in plan.keep}
        for name in plan.start:
            upstreams[name] = _Upstream(
                name, plan.servers[name], plan.base, self._egress, self._secrets
            )
        # One assignment: a call sees either the old set of servers or the new one.
        self._upstreams = upstreams
        self._base = plan.base
        self.proxy = plan.proxy
        self.pins = plan.pins
        with self._state_lock:
            self._tools = {k: v for k, v in self._tools.items() if v.server in plan.keep}
            self._refreshed = False

        async def stop_all() -> None:
            await asyncio.gather(*(u.wait_stopped() for u in stopping))

        if stopping:
            try:
                self._wait(stop_all(), 30)
            except Exception:  # noqa: BLE001 - the transport kills the group on its way out
                _log.warning("stopping removed outside servers took too long", exc_info=True)
        return plan.summary()

    def owns(self, tool: str) -> bool:
        """Whether ``tool`` is in a configured server's namespace (``server.``)."""
        server, dot, _rest = tool.partition(".")
        return bool(dot) and server in self._upstreams

    # -- listing, pins and the poisoning scan --------------------------------------------

    async def _list_one(self, upstream: _Upstream) -> list[types.Tool]:
        client = await upstream.connected()
        tools: list[types.Tool] = []
        cursor: str | None = None
        try:
            async with asyncio.timeout(upstream.entry.timeout_seconds):
                for _ in range(_MAX_PAGES):
                    page = await client.list_tools(cursor=cursor)
                    tools += page.tools
                    if len(tools) > MAX_TOOLS_PER_SERVER:
                        raise AgentorError(
                            McpCode.UPSTREAM_ERROR,
                            f"outside server {upstream.name} lists more than "
                            f"{MAX_TOOLS_PER_SERVER} tools",
                            hint="serve fewer tools from one server",
                        )
                    cursor = page.next_cursor
                    if cursor is None:
                        break
        except TimeoutError:
            raise AgentorError(
                McpCode.UPSTREAM_TIMEOUT,
                f"outside server {upstream.name} did not list its tools in time",
                hint="raise timeout_seconds of this [servers] entry",
            ) from None
        except MCPError as exc:
            raise AgentorError(
                McpCode.UPSTREAM_ERROR,
                f"outside server {upstream.name} refused tools/list: {str(exc)[:300]}",
            ) from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError) as exc:
            upstream.mark_down()
            raise upstream._unavailable(type(exc).__name__) from None
        return tools

    async def _list_all(self) -> dict[str, list[types.Tool] | AgentorError]:
        names = sorted(self._upstreams)

        async def one(name: str) -> list[types.Tool] | AgentorError:
            try:
                return await self._list_one(self._upstreams[name])
            except AgentorError as exc:
                return exc
            except Exception as exc:  # noqa: BLE001 - one broken server must not hide the others
                _log.exception("listing outside server %s failed", name)
                return self._upstreams[name]._unavailable(type(exc).__name__)

        results = await asyncio.gather(*(one(name) for name in names))
        return dict(zip(names, results, strict=True))

    def refresh(self) -> dict[str, AgentorError | None]:
        """Re-list every server's tools and re-decide which are served; per server, its error."""
        timeout = max((u.entry.timeout_seconds for u in self._upstreams.values()), default=1.0)
        if not self._upstreams:
            return {}
        try:
            listed: dict[str, list[types.Tool] | AgentorError] = self._wait(
                self._list_all(), timeout * 2 + 5
            )
        except TimeoutError:
            listed = {
                name: AgentorError(McpCode.UPSTREAM_TIMEOUT, f"listing {name} timed out")
                for name in self._upstreams
            }
        everything = [
            tool.name for tools in listed.values() if isinstance(tools, list) for tool in tools
        ]
        decided: dict[str, OutsideTool] = {}
        errors: dict[str, AgentorError | None] = {}
        with self._state_lock:
            previous = dict(self._tools)
        for server, tools in listed.items():
            if isinstance(tools, AgentorError):
                errors[server] = tools
                # Keep what was served: calls then fail with this server's stable code
                # instead of the tool silently vanishing.
                decided.update({k: v for k, v in previous.items() if v.server == server})
                continue
            errors[server] = None
            for tool in tools:
                outside = self._decide(server, tool, everything)
                decided[outside.served_name] = outside
        with self._state_lock:
            self._tools = decided
            self._refreshed = True
        return errors

    def _decide(self, server: str, tool: types.Tool, others: Sequence[str]) -> OutsideTool:
        raw = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        pin = tool_pin(tool)
        served_name = f"{server}.{tool.name}"
        hits = scan_tool(
            tool.name,
            tool.description,
            {"inputSchema": tool.input_schema, "outputSchema": tool.output_schema or {}},
            other_tools=others,
        )
        status = self.pins.status(server, tool.name, pin)
        spec: ToolSpec | None = None
        refusal: AgentorError | None = None
        try:
            spec = _spec_of(served_name, tool)
            if tool.name in RESERVED_TOOL_NAMES:
                # The policy sees reads of this server's resources and prompts under
                # these names: a tool with one would share their rules.
                refusal = AgentorError(
                    McpCode.TOOL_POISONED,
                    f"outside tool {served_name!r} takes a name reserved for reading the "
                    "server's resources and prompts; it is not served",
                    hint="ask the server's author to rename the tool",
                )
        except ValidationError:
            refusal = AgentorError(
                McpCode.TOOL_POISONED,
                f"outside tool {served_name[:200]!r} cannot be served: its name, description "
                "or schemas are outside agentor's bounds",
                hint="ask the server's author for a tool within MCP's usual limits",
            )
        mode = self.proxy.on_poisoning
        refused_hits = [
            hit
            for hit in hits
            if mode == "refuse_any" or (mode == "refuse_high" and hit.finding in HIGH_SEVERITY)
        ]
        findings = [
            {"finding": str(hit.finding), "where": hit.where[:200], "excerpt": hit.excerpt}
            for hit in hits[:32]
        ]
        detail: dict[str, Any] = {"server": server, "tool": tool.name[:200], "pin": pin}
        if refusal is None and refused_hits:
            refusal = AgentorError(
                McpCode.TOOL_POISONED,
                f"outside tool {served_name} is refused: "
                + ", ".join(sorted({f"{h.finding} in {h.where}" for h in refused_hits}))[:1000],
                hint='review the server; set [proxy] on_poisoning = "flag" only if you trust it',
            )
            self._note(
                AuditEventType.MCP_SERVER_CHANGED,
                served_name,
                pin,
                McpCode.TOOL_POISONED,
                {**detail, "status": str(status), "findings": findings},
            )
        elif refusal is None and status is PinStatus.NEW:
            if self.proxy.trust_on_first_use and not hits:
                try:
                    self.pins.approve(server, tool.name, pin)
                    status = PinStatus.PINNED
                    self._note(
                        AuditEventType.MCP_SERVER_PINNED,
                        served_name,
                        pin,
                        "ok",
                        {**detail, "approved_by": "trust_on_first_use"},
                    )
                except AgentorError as exc:
                    refusal = exc
            else:
                refusal = AgentorError(
                    McpCode.TOOL_UNAPPROVED,
                    f"outside tool {served_name} has not been approved",
                    hint="review it and run 'agentor mcp pin --config agentor.toml'",
                )
                self._note(
                    AuditEventType.MCP_SERVER_CHANGED,
                    served_name,
                    pin,
                    McpCode.TOOL_UNAPPROVED,
                    {**detail, "status": "new", "findings": findings},
                )
        elif refusal is None and status is PinStatus.CHANGED:
            refusal = AgentorError(
                McpCode.TOOL_CHANGED,
                f"outside tool {served_name} changed since it was approved (name, description, "
                "schemas or annotations); it is disabled",
                hint="review it with 'agentor mcp tools', then 'agentor mcp pin' it again",
            )
            self._note(
                AuditEventType.MCP_SERVER_CHANGED,
                served_name,
                pin,
                McpCode.TOOL_CHANGED,
                {**detail, "status": "changed", "findings": findings},
            )
        if refusal is None and hits:
            # Served, but the findings are on the record.
            self._note(
                AuditEventType.MCP_SERVER_CHANGED,
                served_name,
                pin,
                "flagged",
                {**detail, "status": str(status), "findings": findings},
            )
        if refusal is None and not self._audit_ok:
            refusal = AgentorError(
                McpCode.AUDIT_FAILED,
                "the audit log did not commit a pin event; outside tools are not served",
                hint="check that the audit log is writable ('agentor doctor')",
            )
        return OutsideTool(server, tool.name, served_name, pin, status, hits, spec, refusal, raw)

    _audit_ok: bool = True

    def _note(
        self, kind: AuditEventType, tool: str, pin: str, outcome: str, detail: dict[str, Any]
    ) -> None:
        key = (tool, pin, str(kind), outcome)
        if key in self._audited:
            return
        if len(self._audited) >= _MAX_AUDITED:
            # A server that changes its tools on every listing must not grow this set
            # without end; forgetting only means an event may be recorded again.
            self._audited.clear()
        try:
            self._audit.append(
                AuditEvent(
                    type=kind,
                    time=self._clock(),
                    tool=tool if len(tool) <= 128 else None,
                    component_hash=pin,
                    outcome=outcome,
                    detail=detail,
                )
            )
        except Exception:  # noqa: BLE001 - fail closed: nothing outside is served
            _log.exception("audit append failed for an outside tool")
            self._audit_ok = False
            return
        self._audit_ok = True
        self._audited.add(key)

    def tools(self) -> list[OutsideTool]:
        """Every outside tool last listed, served or not (``agentor mcp tools``)."""
        with self._state_lock:
            return sorted(self._tools.values(), key=lambda t: t.served_name)

    def approve(self, served_name: str) -> OutsideTool:
        """Pin ``server.tool`` as it was last listed (audited); refuses a poisoned tool."""
        with self._state_lock:
            tool = self._tools.get(served_name)
        if tool is None:
            raise AgentorError(
                McpCode.INVALID_CALL,
                f"no outside tool {served_name[:200]!r} was listed",
                hint="run 'agentor mcp tools' for the names",
            )
        if tool.refusal is not None and tool.refusal.code == McpCode.TOOL_POISONED:
            raise tool.refusal
        self.pins.approve(tool.server, tool.name, tool.pin)
        self._audited.discard((served_name, tool.pin, str(AuditEventType.MCP_SERVER_PINNED), "ok"))
        self._note(
            AuditEventType.MCP_SERVER_PINNED,
            served_name,
            tool.pin,
            "ok",
            {
                "server": tool.server,
                "tool": tool.name[:200],
                "pin": tool.pin,
                "approved_by": "agentor mcp pin",
                "previous": str(tool.status),
            },
        )
        if not self._audit_ok:
            raise AgentorError(McpCode.AUDIT_FAILED, "the audit log did not commit the approval")
        return tool

    # -- ToolRuntime --------------------------------------------------------------------

    def list_tools(self) -> Sequence[ToolSpec]:
        """The served tools as of the last :meth:`refresh` (the first call refreshes).

        Calls never wait on a re-list: a hung server cannot stall other tools. The
        bridge refreshes on every MCP ``tools/list`` (``refresh_tools``), which is
        when a model sees descriptions, so a changed tool is caught before it is shown.
        """
        if not self._refreshed:
            self.refresh()
        return [t.spec for t in self.tools() if t.refusal is None and t.spec is not None]

    def refresh_tools(self) -> None:
        self.refresh()

    def component_hash(self, name: str) -> str | None:
        """The tool's pin: approvals and audit entries are bound to the exact definition."""
        with self._state_lock:
            tool = self._tools.get(name)
        return tool.pin if tool is not None else None

    def unconfined(self, name: str) -> bool:
        return self.owns(name)

    def why_not_served(self, name: str) -> AgentorError | None:
        with self._state_lock:
            tool = self._tools.get(name)
        return tool.refusal if tool is not None else None

    def invoke(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        timeout = self._timeout(call, grant) + 5
        try:
            result: ToolResult = self._wait(self._call(call, grant), timeout)
        except TimeoutError:
            return ToolResult(call_id=call.id, error=self._timed_out(call.tool))
        return result

    async def invoke_async(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        result: ToolResult = await asyncio.wrap_future(self._submit(self._call(call, grant)))
        return result

    def _timeout(self, call: ToolCall, grant: Capabilities) -> float:
        upstream = self._upstreams.get(call.tool.partition(".")[0])
        limit = upstream.entry.timeout_seconds if upstream else 1.0
        return min(limit, grant.limits.deadline_ms / 1000)

    @staticmethod
    def _timed_out(tool: str) -> ToolError:
        return _error(
            McpCode.UPSTREAM_TIMEOUT,
            f"outside tool {tool} did not answer in time; the call was abandoned",
            "raise timeout_seconds of the [servers] entry or the grant's deadline_ms",
        )

    async def _call(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        with self._state_lock:
            tool = self._tools.get(call.tool)
        if tool is None or tool.spec is None:
            return ToolResult(
                call_id=call.id,
                error=_error(
                    McpCode.INVALID_CALL,
                    f"no outside tool {call.tool[:200]!r} is served",
                    "call tools/list",
                ),
            )
        if tool.refusal is not None:
            return ToolResult(call_id=call.id, error=tool.refusal.error)
        if call.component_hash is not None and call.component_hash != tool.pin:
            return ToolResult(
                call_id=call.id,
                error=_error(
                    McpCode.TOOL_CHANGED,
                    f"outside tool {call.tool} changed while the call was decided",
                    "list the tools again and retry",
                ),
            )
        upstream = self._upstreams[tool.server]
        limit = min(upstream.entry.max_result_bytes, grant.limits.result_bytes)
        try:
            client = await upstream.connected()
            async with asyncio.timeout(self._timeout(call, grant)):
                result = await client.call_tool(tool.name, dict(call.arguments))
        except AgentorError as exc:
            return ToolResult(call_id=call.id, error=exc.error)
        except TimeoutError:
            return ToolResult(call_id=call.id, error=self._timed_out(call.tool))
        except MCPError as exc:
            refused = upstream.refusals.take(exc.data)
            if refused is not None:
                # Refused by the egress guard before sending (e.g. a stored secret's
                # value in the arguments): its own code, and nothing reached the server.
                return ToolResult(call_id=call.id, error=refused.error)
            if upstream.ended:
                return ToolResult(
                    call_id=call.id,
                    error=upstream._unavailable("it exited during the call").error,
                )
            return ToolResult(
                call_id=call.id,
                error=_error(
                    McpCode.UPSTREAM_ERROR,
                    f"outside server {tool.server} refused the call: {str(exc)[:_MAX_ERROR_CHARS]}",
                ),
            )
        except Exception as exc:  # noqa: BLE001 - a broken connection: fail closed, restart later
            _log.debug("outside call failed", exc_info=True)
            upstream.mark_down()
            return ToolResult(
                call_id=call.id,
                error=upstream._unavailable(f"the call failed ({type(exc).__name__})").error,
            )
        return _convert(call.id, call.tool, result, limit)


def _convert(call_id: str, tool: str, result: types.CallToolResult, limit: int) -> ToolResult:
    """An upstream result as a bounded core ``ToolResult``, labelled untrusted."""

    def invalid(why: str) -> ToolResult:
        return ToolResult(
            call_id=call_id,
            error=_error(
                McpCode.UPSTREAM_RESULT_INVALID,
                f"the result of outside tool {tool} was withheld: {why}",
                "raise max_result_bytes of the [servers] entry if the size is expected",
            ),
        )

    if result.is_error:
        text = " ".join(b.text for b in result.content if isinstance(b, types.TextContent))
        return ToolResult(
            call_id=call_id,
            error=_error(
                McpCode.UPSTREAM_ERROR,
                f"outside tool {tool} failed: {text[:_MAX_ERROR_CHARS] or 'no message'}",
            ),
        )
    blocks: list[ContentBlock] = []
    size = 0
    try:
        for block in result.content:
            if isinstance(block, types.TextContent):
                size += len(block.text.encode("utf-8", "surrogatepass"))
                blocks.append(TextContent(text=block.text))
            elif isinstance(block, types.ImageContent):
                size += len(block.data)
                blocks.append(ImageContent(data=block.data, mime_type=block.mime_type))
            elif isinstance(block, types.AudioContent):
                size += len(block.data)
                blocks.append(AudioContent(data=block.data, mime_type=block.mime_type))
            elif isinstance(block, types.EmbeddedResource):
                body = block.resource
                if isinstance(body, types.TextResourceContents):
                    size += len(body.text.encode("utf-8", "surrogatepass"))
                    blocks.append(
                        EmbeddedResource(
                            uri=str(body.uri), mime_type=body.mime_type, text=body.text
                        )
                    )
                else:
                    size += len(body.blob)
                    blocks.append(
                        EmbeddedResource(
                            uri=str(body.uri), mime_type=body.mime_type, blob=body.blob
                        )
                    )
            else:
                return invalid(f"content of type {getattr(block, 'type', '?')!r} is not accepted")
            if size > limit:
                return invalid(f"larger than {limit} bytes")
        if result.structured_content is not None:
            size += len(canonical_json(result.structured_content))
            if size > limit:
                return invalid(f"larger than {limit} bytes")
            # The bridge shows JSON content as text too; drop the upstream's copy of it.
            blocks = [b for b in blocks if not _same_json(b, result.structured_content)]
            blocks.insert(0, JsonContent(data=result.structured_content))
        return ToolResult(call_id=call_id, content=tuple(blocks), labels=_UNTRUSTED)
    except (ValidationError, ValueError, TypeError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) and exc.errors() else ""
        return invalid(f"a content block is outside agentor's bounds {first[:200]}".strip())


def _same_json(block: ContentBlock, data: Any) -> bool:
    if not isinstance(block, TextContent) or len(block.text) > 1024 * 1024:
        return False
    try:
        return bool(json.loads(block.text) == data)
    except (ValueError, RecursionError):
        return False


class ComposedRuntime:
    """Sandboxed tools and outside servers' tools behind one ``ToolRuntime``.

    A sandboxed tool whose name falls in a server's namespace (``server.``) is
    refused at construction: one name, one tool.
    """

    def __init__(
        self, local: Any, outside: OutsideServers, *, plan: ServerPlan | None = None
    ) -> None:
        """``plan``: check names against the servers a reload is about to apply."""
        self.local = local
        self.outside = outside
        owns = plan.owns if plan is not None else outside.owns
        for spec in local.list_tools():
            if owns(spec.name):
                raise AgentorError(
                    McpCode.CONFIG_INVALID,
                    f"sandboxed tool {spec.name} is in the namespace of outside server "
                    f"{spec.name.partition('.')[0]}",
                    hint="rename the [servers] entry or the tool",
                )

    def list_tools(self) -> Sequence[ToolSpec]:
        return [*self.local.list_tools(), *self.outside.list_tools()]

    def invoke(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        if self.outside.owns(call.tool):
            return self.outside.invoke(call, grant)
        result: ToolResult = self.local.invoke(call, grant)
        return result

    async def invoke_async(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        if self.outside.owns(call.tool):
            return await self.outside.invoke_async(call, grant)
        result: ToolResult = await self.local.invoke_async(call, grant)
        return result

    def component_hash(self, name: str) -> str | None:
        if self.outside.owns(name):
            return self.outside.component_hash(name)
        getter = getattr(self.local, "component_hash", None)
        value = getter(name) if callable(getter) else None
        return value if isinstance(value, str) else None

    def why_not_served(self, name: str) -> AgentorError | None:
        return self.outside.why_not_served(name) if self.outside.owns(name) else None

    def refresh_tools(self) -> None:
        self.outside.refresh()

    def unconfined(self, name: str) -> bool:
        """An outside tool runs outside any sandbox: claim nothing reassuring about it."""
        return self.outside.owns(name)


def describe(tool: OutsideTool) -> dict[str, Any]:
    """JSON for ``agentor mcp tools``."""
    return {
        "name": tool.served_name,
        "server": tool.server,
        "pin": tool.pin,
        "status": str(tool.status),
        "served": tool.refusal is None,
        "refusal": None
        if tool.refusal is None
        else {"code": tool.refusal.code, "message": tool.refusal.message},
        "findings": [
            {"finding": str(h.finding), "where": h.where, "excerpt": h.excerpt} for h in tool.hits
        ],
        "description": json.dumps(tool.raw.get("description", ""), ensure_ascii=True)[1:-1][:2000],
    }
