"""``SandboxRuntime``: each tool call in a fresh wasmtime store and instance."""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import re
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import wasmtime
from pydantic import ValidationError
from wasmtime import component as wc

from agentor_core.bounds import JsonBoundsError
from agentor_core.canonical import canonical_json, sha256_hex
from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError, CoreCode, ToolError
from agentor_core.interfaces import EgressGuard, SecretStore
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.tools import JsonContent, ToolCall, ToolResult, ToolSpec
from agentor_core.validation import parse_untrusted_json
from agentor_sandbox.cache import CompileCache
from agentor_sandbox.channel import CORE_MODULE, define_channel
from agentor_sandbox.codes import SandboxCode
from agentor_sandbox.engine import EpochTicker, deadline_ticks, new_engine
from agentor_sandbox.generic import (
    GenericComponent,
    GenericExport,
    check_imports,
    reflect_component,
)
from agentor_sandbox.host import HostServices, define_host
from agentor_sandbox.loader import Compiled, ProgressCallback, WasmKind, compile_wasm, read_wasm
from agentor_sandbox.manifest import MAX_MANIFEST_BYTES, Manifest
from agentor_sandbox.reaper import Reaper
from agentor_sandbox.state import CallState, Capture, ProgressSink, set_current, wait_for_streams
from agentor_sandbox.wasi import check_preopens, resolved_env, wasi_config
from agentor_sandbox.witjson import from_wit, to_wit

_log = logging.getLogger(__name__)

DEFAULT_POOL_SIZE: Final = 2
STREAM_DRAIN_SECONDS: Final = 5.0
MAX_POOL_KEYS: Final = 32
MAX_MEMORIES: Final = 1
"""Linear memories per call (a componentize-py component and a WASI module use one)."""
MAX_TABLES: Final = 2
"""Tables per call; ``table_elements`` bounds each, so a call holds at most twice that."""
# A tool's own code, lower snake case; dotted codes pass through too, since a
# tool may forward a host refusal it received (e.g. egress.destination_denied).
_TOOL_CODE_RE: Final = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_TOOL_CODE_MAX: Final = 80
_PAGE: Final = 65536
# Trap is not a WasmtimeError subclass in wasmtime-py; both end a call.
_WASM_ERRORS: Final = (wasmtime.WasmtimeError, wasmtime.Trap)
_UNTRUSTED: Final = LabelSet.of(Label.of(Source.UNTRUSTED_TOOL))


@dataclass(frozen=True, slots=True)
class LoadedTool:
    compiled: Compiled
    specs: tuple[ToolSpec, ...]
    manifest: Manifest | None
    pre: wasmtime.InstancePre | None
    generic: GenericComponent | None = None
    """Set for a component of another world: its exported functions are the tools."""
    wasi: bool = True
    """False for a core module importing only the host channel: its calls get no WASI context."""


@dataclass(slots=True)
class Prepared:
    """A store with an instance in it, used for exactly one call and then dropped."""

    store: wasmtime.Store
    instance: wc.Instance
    capture: Capture


@dataclass(slots=True)
class PreparedModule:
    """A core module's store and instance, for one call."""

    store: wasmtime.Store
    instance: wasmtime.Instance
    start: wasmtime.Func
    capture: Capture


def _error(call_id: str, code: str, message: str, hint: str | None = None) -> ToolResult:
    return ToolResult(call_id=call_id, error=ToolError(code=code, message=message, hint=hint))


def _reason(exc: Exception) -> str:
    """wasmtime's own words, without the backtrace (whose names the guest chose)."""
    lines = str(exc).splitlines()
    if "Caused by:" in lines:
        tail = lines[lines.index("Caused by:") + 1 :]
        return " ".join(line.strip() for line in tail)[:500]
    return lines[0][:500] if lines else type(exc).__name__


_LIMIT_HINT: Final = "raise the limit in the grant if the tool needs more, or fix the tool"


def _classify_instantiate(exc: Exception) -> AgentorError:
    reason = _reason(exc)
    for needle, code in (
        ("memory", SandboxCode.MEMORY_EXHAUSTED),
        ("table", SandboxCode.TABLE_EXHAUSTED),
        ("instance", SandboxCode.INSTANCES_EXHAUSTED),
    ):
        if needle in reason and ("limit" in reason or "exceeds" in reason):
            hint = (
                f"the sandbox allows {MAX_MEMORIES} memory and {MAX_TABLES} tables per call, "
                "whatever the grant; rebuild the tool with fewer"
                if "count too high" in reason
                else _LIMIT_HINT
            )
            return AgentorError(code, f"instantiation refused: {reason}", hint=hint)
    if "fuel" in reason:
        return AgentorError(SandboxCode.FUEL_EXHAUSTED, reason, hint=_LIMIT_HINT)
    return AgentorError(
        SandboxCode.INSTANTIATE_FAILED,
        f"the tool could not be instantiated: {reason}",
        hint="the tool imports something this host does not provide (only WASI and "
        "agentor:tool/host are linked; never sockets or http)",
    )


def _module_limit_hit(
    store: wasmtime.Store, instance: wasmtime.Instance, grant: Capabilities
) -> SandboxCode | None:
    """After a trap in a core module: was it near its memory or table ceiling?

    wasmtime-py does not report refused growth, and a refused ``memory.grow``
    returns -1 to the guest, which then traps in its own way. A trap with an
    exported memory or table above 3/4 of its limit is reported as that limit.
    """
    for item in instance.exports(store).values():
        if isinstance(item, wasmtime.Memory):
            if item.size(store) * _PAGE > grant.limits.memory_bytes * 3 // 4:
                return SandboxCode.MEMORY_EXHAUSTED
        elif isinstance(item, wasmtime.Table) and (
            item.size(store) > grant.limits.table_elements * 3 // 4
        ):
            return SandboxCode.TABLE_EXHAUSTED
    return None


def _classify_trap(
    exc: Exception, store: wasmtime.Store, capture: Capture, limit_hit: SandboxCode | None
) -> AgentorError:
    reason = _reason(exc)
    trap_code = exc.trap_code if isinstance(exc, wasmtime.Trap) else None
    if trap_code is wasmtime.TrapCode.OUT_OF_FUEL or "all fuel consumed" in reason:
        return AgentorError(
            SandboxCode.FUEL_EXHAUSTED, "the call ran out of fuel", hint=_LIMIT_HINT
        )
    if trap_code is wasmtime.TrapCode.INTERRUPT or "interrupt" in reason:
        return AgentorError(
            SandboxCode.DEADLINE_EXCEEDED, "the call ran past its deadline", hint=_LIMIT_HINT
        )
    if trap_code is wasmtime.TrapCode.STACK_OVERFLOW or "call stack exhausted" in reason:
        return AgentorError(
            SandboxCode.STACK_EXHAUSTED,
            "the tool exhausted its stack (deep recursion)",
            hint=_LIMIT_HINT,
        )
    if limit_hit is not None:
        return AgentorError(
            limit_hit, f"the tool hit its limit and trapped: {reason}", hint=_LIMIT_HINT
        )
    # A component's allocator aborts with these words when memory.grow is refused.
    err = bytes(capture.stderr[-4096:])
    if b"memory allocation of" in err or b"MemoryError" in err:
        return AgentorError(
            SandboxCode.MEMORY_EXHAUSTED, "the tool ran out of linear memory", hint=_LIMIT_HINT
        )
    try:
        if store.get_fuel() == 0:
            return AgentorError(
                SandboxCode.FUEL_EXHAUSTED, "the call ran out of fuel", hint=_LIMIT_HINT
            )
    except wasmtime.WasmtimeError:
        pass
    return AgentorError(
        SandboxCode.TRAP,
        f"the tool trapped: {reason}",
        hint="a bug in the tool; report it to its author",
    )


def _json_result(call_id: str, raw: str | bytes, limit: int) -> ToolResult:
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise AgentorError(
            SandboxCode.RESULT_TOO_LARGE,
            f"the result is {size} bytes; the limit is {limit}",
            hint=_LIMIT_HINT,
        )
    try:
        # JsonContent's own validator is the bounds check (check_json): run once, not twice.
        content = JsonContent(data=json.loads(raw))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_context=False)
        detail = str(first[0]["msg"]) if first else str(exc)
        raise AgentorError(
            SandboxCode.INVALID_RESULT,
            f"the tool's result is not bounded JSON: {detail.removeprefix('Value error, ')[:200]}",
            hint="a bug in the tool; report it to its author",
        ) from None
    except (ValueError, RecursionError, JsonBoundsError) as exc:
        raise AgentorError(
            SandboxCode.INVALID_RESULT,
            f"the tool's result is not bounded JSON: {str(exc)[:200]}",
            hint="a bug in the tool; report it to its author",
        ) from None
    # Tool output is untrusted until the operator's policy says otherwise.
    return ToolResult(call_id=call_id, content=(content,), labels=_UNTRUSTED)


def _wit_arguments(export: GenericExport, arguments: dict[str, Any]) -> tuple[Any, ...]:
    names = [name for name, _ in export.params]
    unknown = sorted(set(arguments) - set(names))
    if unknown:
        raise AgentorError(
            SandboxCode.ARGUMENTS_INVALID,
            f"argument {unknown[0][:64]!r} is not a parameter of {export.tool}",
            hint=f"its parameters: {', '.join(names) or 'none'}",
        )
    values = []
    for name, ty in export.params:
        if name not in arguments:
            raise AgentorError(
                SandboxCode.ARGUMENTS_INVALID,
                f"argument {name!r} is required by {export.tool}",
                hint="fix the argument to match the tool's input schema ('agentor tool inspect')",
            )
        values.append(to_wit(ty, arguments[name], repr(name)))
    return tuple(values)


def _generic_result(call_id: str, export: GenericExport, raw: Any, limit: int) -> ToolResult:
    data: dict[str, Any] = {}
    if export.result is not None:
        data["result"] = from_wit(export.result, raw)
    encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return _json_result(call_id, encoded, limit)


def _tool_error(call_id: str, record: Any) -> ToolResult:
    code = str(getattr(record, "code", ""))
    message = str(getattr(record, "message", ""))[:4096] or "the tool reported an error"
    if len(code) <= _TOOL_CODE_MAX and _TOOL_CODE_RE.fullmatch(code):
        return _error(call_id, f"tool.{code}", message)
    return _error(call_id, SandboxCode.TOOL_ERROR, message)


def grant_key(grant: Capabilities, env: tuple[tuple[str, str], ...]) -> str:
    document = {"grant": grant.model_dump(mode="json"), "env": [list(p) for p in env]}
    return sha256_hex(canonical_json(document))


MAX_GRANT_KEYS: Final = 256
_grant_keys: dict[tuple[Capabilities, tuple[tuple[str, str], ...]], str] = {}
_grant_keys_lock = threading.Lock()


def cached_grant_key(grant: Capabilities, env: tuple[tuple[str, str], ...]) -> str:
    """:func:`grant_key`, remembered: dumping and hashing a grant costs about 100 µs a call.

    Keyed by the grant's value (a frozen model: equal grants hash alike) and the
    environment resolved for this call, so a changed host variable is a new key.
    """
    try:
        lookup = (grant, env)
        with _grant_keys_lock:
            found = _grant_keys.get(lookup)
    except TypeError:  # pragma: no cover - a grant holding an unhashable value
        return grant_key(grant, env)
    if found is not None:
        return found
    key = grant_key(grant, env)
    with _grant_keys_lock:
        if len(_grant_keys) >= MAX_GRANT_KEYS:
            _grant_keys.clear()
        _grant_keys[lookup] = key
    return key


class SandboxRuntime:
    """A :class:`~agentor_core.interfaces.ToolRuntime` over WebAssembly tools.

    Load tools with :meth:`load`; every :meth:`invoke` gets a fresh store and
    instance configured from the grant, and never raises for the tool's failures.
    """

    def __init__(
        self,
        tools: Iterable[str | Path] = (),
        *,
        egress_guard: EgressGuard | None = None,
        secret_store: SecretStore | None = None,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        pool_size: int = DEFAULT_POOL_SIZE,
        workers: int = 2,
        on_compile: ProgressCallback | None = None,
        on_progress: ProgressSink | None = None,
    ) -> None:
        self._engine = new_engine()
        self._ticker = EpochTicker(self._engine)
        self._cache = CompileCache(Path(cache_dir) if cache_dir else None) if use_cache else None
        self._services = HostServices(egress=egress_guard, secrets=secret_store)
        self._component_linker = wc.Linker(self._engine)
        # wasip2 links the WASI interfaces componentize-py tools import. Sockets are
        # among them but stay inert: the WASI context never gets network access.
        self._component_linker.add_wasip2()
        define_host(self._component_linker, self._services)
        self._module_linker = wasmtime.Linker(self._engine)
        self._module_linker.define_wasi()
        define_channel(self._module_linker)
        self._on_compile = on_compile
        self._on_progress = on_progress
        self._pool_size = max(0, pool_size)
        self._pools: OrderedDict[tuple[str, str], deque[Prepared]] = OrderedDict()
        self._pool_lock = threading.Lock()
        self._refilling: set[tuple[str, str]] = set()
        self._refiller = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentor-pool")
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="agentor-call"
        )
        self._tools: dict[str, LoadedTool] = {}
        self._captures: weakref.WeakSet[Capture] = weakref.WeakSet()
        self._reaper = Reaper()
        self._closed = False
        _RUNTIMES.add(self)
        for path in tools:
            self.load(path)

    # -- loading ---------------------------------------------------------------

    def load(self, path: str | Path) -> tuple[ToolSpec, ...]:
        path = Path(path)
        return self.load_bytes(read_wasm(path), source=path.name, default_name=path.stem)

    def load_bytes(
        self, wasm: bytes, *, source: str, default_name: str = "tool"
    ) -> tuple[ToolSpec, ...]:
        compiled = compile_wasm(
            self._engine, wasm, source=source, cache=self._cache, progress=self._on_compile
        )
        if compiled.kind is WasmKind.COMPONENT:
            loaded = self._load_component(compiled)
        else:
            loaded = self._load_module(compiled, default_name)
        for spec in loaded.specs:
            existing = self._tools.get(spec.name)
            if existing is not None and existing.compiled.sha256 != compiled.sha256:
                raise AgentorError(
                    SandboxCode.DUPLICATE_TOOL,
                    f"{compiled.source} serves {spec.name!r}, already served by "
                    f"{existing.compiled.source}",
                    hint="load one of them, or rename the tool in one",
                )
        for spec in loaded.specs:
            self._tools[spec.name] = loaded
        return loaded.specs

    def _load_module(self, compiled: Compiled, default_name: str) -> LoadedTool:
        module = compiled.module
        if module is None or not any(e.name == "_start" for e in module.exports):
            raise AgentorError(
                SandboxCode.NOT_A_TOOL,
                f"{compiled.source} is a module without a _start export",
                hint="build it as a WASI preview 1 command (JSON on stdin, JSON on stdout)",
            )
        try:
            pre = self._module_linker.instantiate_pre(module)
        except _WASM_ERRORS as exc:
            raise _classify_instantiate(exc) from None
        name = re.sub(r"[^A-Za-z0-9_.\-]", "_", default_name)[:128].lstrip(".-") or "tool"
        # Imports were checked by instantiate_pre: WASI preview 1 or the host channel only.
        wasi = any(item.module != CORE_MODULE for item in module.imports)
        return LoadedTool(compiled, (ToolSpec(name=name),), None, pre, wasi=wasi)

    def _load_component(self, compiled: Compiled) -> LoadedTool:
        component = compiled.component
        if component is None:  # pragma: no cover - compile_wasm sets it for components
            raise AgentorError(SandboxCode.INTERNAL, "component missing")
        if any(component.get_export_index(name) is None for name in ("describe", "call")):
            return self._load_generic(compiled, component)
        grant = Capabilities()
        state = CallState(call_id="describe", tool=compiled.source, grant=grant)
        prepared = self._prepare_component(component, grant, resolved_env(grant))
        raw = self._run_component(prepared, state, "describe", ())
        if not isinstance(raw, str):
            raise AgentorError(SandboxCode.MANIFEST_INVALID, "describe() did not return a string")
        try:
            manifest = parse_untrusted_json(
                Manifest, raw, max_bytes=MAX_MANIFEST_BYTES, source=f"{compiled.source} manifest"
            )
        except AgentorError as exc:
            raise AgentorError(
                SandboxCode.MANIFEST_INVALID, exc.message, hint="fix describe() in the tool"
            ) from None
        return LoadedTool(compiled, manifest.tools, manifest, None)

    def _load_generic(self, compiled: Compiled, component: wc.Component) -> LoadedTool:
        # Not of the agentor:tool world: its exported functions are the tools. The
        # imports are checked first, so nothing unconfinable is ever instantiated.
        check_imports(self._engine, component, compiled.source)
        generic = reflect_component(self._engine, component)
        if not generic.exports:
            skipped = "; ".join(f"{s.name}: {s.reason}" for s in generic.reflection.skipped[:3])
            raise AgentorError(
                SandboxCode.NOT_A_TOOL,
                f"{compiled.source} exports no function with a JSON form"
                + (f" ({skipped})" if skipped else ""),
                hint="export functions of plain WIT types, or build against the agentor:tool world",
            )
        return LoadedTool(compiled, generic.reflection.tools, None, None, generic)

    def list_tools(self) -> Sequence[ToolSpec]:
        return tuple(
            spec
            for name, tool in sorted(self._tools.items())
            for spec in tool.specs
            if spec.name == name
        )

    def component_hash(self, name: str) -> str | None:
        tool = self._tools.get(name)
        return tool.compiled.sha256 if tool else None

    # -- instances ---------------------------------------------------------------

    def _capture(self, grant: Capabilities, *, streams: bool = True) -> Capture:
        capture = Capture(limit=grant.limits.output_bytes, streams=streams)
        if streams:
            self._captures.add(capture)
        return capture

    def _new_store(self, grant: Capabilities) -> wasmtime.Store:
        store = wasmtime.Store(self._engine)
        limits = grant.limits
        # wasmtime applies memory_size and table_elements to each memory and table,
        # and allows thousands of each: without a count, many small ones would add
        # up far past the grant. One memory makes memory_bytes the call's total;
        # tables are capped at the two a componentize-py component needs.
        store.set_limits(
            memory_size=limits.memory_bytes,
            table_elements=limits.table_elements,
            instances=limits.instances,
            tables=MAX_TABLES,
            memories=MAX_MEMORIES,
        )
        store.set_fuel(limits.fuel)
        store.set_epoch_deadline(deadline_ticks(limits.deadline_ms))
        return store

    def _prepare_component(
        self, component: wc.Component, grant: Capabilities, env: tuple[tuple[str, str], ...]
    ) -> Prepared:
        capture = self._capture(grant)
        store = self._new_store(grant)
        store.set_wasi(wasi_config(grant, env, capture))
        set_current(None)
        try:
            instance = self._component_linker.instantiate(store, component)
        except _WASM_ERRORS as exc:
            raise _classify_instantiate(exc) from None
        return Prepared(store, instance, capture)

    def _prepare_module(
        self,
        tool: LoadedTool,
        grant: Capabilities,
        wasi: tuple[tuple[tuple[str, str], ...], bytes] | None = None,
    ) -> PreparedModule:
        """A fresh store and instance of ``tool``; ``wasi`` (env, stdin) gives it a WASI context."""
        if tool.pre is None:  # pragma: no cover - LoadedTool is built with one
            raise AgentorError(SandboxCode.INTERNAL, "module not prepared")
        capture = self._capture(grant, streams=wasi is not None)
        store = self._new_store(grant)
        if wasi is not None:
            store.set_wasi(wasi_config(grant, wasi[0], capture, stdin=wasi[1]))
        try:
            instance = tool.pre.instantiate(store)
        except _WASM_ERRORS as exc:
            raise _classify_instantiate(exc) from None
        start = instance.exports(store).get("_start")
        if not isinstance(start, wasmtime.Func):
            raise AgentorError(SandboxCode.NOT_A_TOOL, "_start is not a function")
        return PreparedModule(store, instance, start, capture)

    def _take(self, key: tuple[str, str]) -> Prepared | None:
        with self._pool_lock:
            pool = self._pools.get(key)
            if pool is None:
                return None
            self._pools.move_to_end(key)
            return pool.popleft() if pool else None

    def _schedule_refill(self, key: tuple[str, str], make: Callable[[], Prepared]) -> None:
        if self._pool_size == 0:
            return
        with self._pool_lock:
            if key in self._refilling:
                return
            self._refilling.add(key)
            if key not in self._pools:
                self._pools[key] = deque()
                while len(self._pools) > MAX_POOL_KEYS:
                    self._pools.popitem(last=False)
        try:
            self._refiller.submit(self._refill, key, make)
        except RuntimeError:  # the runtime is closing
            with self._pool_lock:
                self._refilling.discard(key)

    def _refill(self, key: tuple[str, str], make: Callable[[], Prepared]) -> None:
        try:
            while True:
                with self._pool_lock:
                    pool = self._pools.get(key)
                    if pool is None or len(pool) >= self._pool_size:
                        return
                prepared = make()
                with self._pool_lock:
                    pool = self._pools.get(key)
                    if pool is None:
                        return
                    pool.append(prepared)
        except AgentorError:
            return  # the request path reports the same failure when it instantiates itself
        finally:
            with self._pool_lock:
                self._refilling.discard(key)

    def _run_component(
        self,
        prepared: Prepared,
        state: CallState,
        export: str,
        args: tuple[Any, ...],
        instance: str | None = None,
    ) -> Any:
        store = prepared.store
        limits = state.limits
        # Reset here: a pooled store may have been made a while ago.
        store.set_fuel(limits.fuel)
        store.set_epoch_deadline(deadline_ticks(limits.deadline_ms))
        func = None
        if instance is None:
            func = prepared.instance.get_func(store, export)
        else:
            parent = prepared.instance.get_export_index(store, instance)
            index = (
                prepared.instance.get_export_index(store, export, parent)
                if parent is not None
                else None
            )
            func = prepared.instance.get_func(store, index) if index is not None else None
        if func is None:
            raise AgentorError(SandboxCode.NOT_A_TOOL, f"the tool has no {export} export")
        set_current(state)
        try:
            raw = func(store, *args)
        except _WASM_ERRORS as exc:
            raise _limits_first(state, prepared.capture) or _classify_trap(
                exc, store, prepared.capture, None
            ) from None
        finally:
            set_current(None)
        tripped = _limits_first(state, prepared.capture)
        if tripped is not None:
            raise tripped
        return raw

    # -- calls -------------------------------------------------------------------

    def invoke(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        try:
            return self._invoke(call, grant)
        except AgentorError as exc:
            return ToolResult(call_id=call.id, error=exc.error)
        except Exception as exc:  # noqa: BLE001 - a host bug must fail the call closed, not the host
            _log.exception("sandbox call failed unexpectedly", extra={"call_id": call.id})
            return _error(
                call.id,
                SandboxCode.INTERNAL,
                f"the sandbox failed: {type(exc).__name__}",
                hint="report this with the tool and the grant that caused it",
            )

    async def invoke_async(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.invoke, call, grant)

    def _invoke(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        if self._closed:
            # The epoch ticker is stopped: a call now would run with no deadline.
            raise AgentorError(
                SandboxCode.CLOSED,
                "the sandbox runtime is closed",
                hint="create a new SandboxRuntime for further calls",
            )
        tool = self._tools.get(call.tool)
        if tool is None:
            raise AgentorError(
                CoreCode.UNKNOWN_TOOL,
                f"no tool named {call.tool!r} is loaded",
                hint=f"loaded tools: {', '.join(sorted(self._tools)) or 'none'}",
            )
        if call.component_hash is not None and call.component_hash != tool.compiled.sha256:
            raise AgentorError(
                SandboxCode.COMPONENT_MISMATCH,
                f"the call was approved for component {call.component_hash[:12]}…, "
                f"but {call.tool} is {tool.compiled.sha256[:12]}…",
                hint="the tool changed since the call was approved; ask again",
            )
        check_preopens(grant)
        env = resolved_env(grant)
        args = json.dumps(call.arguments, separators=(",", ":"), ensure_ascii=False)
        state = CallState(call_id=call.id, tool=call.tool, grant=grant, progress=self._on_progress)
        if tool.compiled.kind is WasmKind.MODULE:
            return self._invoke_module(tool, call, grant, env, args, state)
        component = tool.compiled.component
        if component is None:  # pragma: no cover - LoadedTool is built with one
            raise AgentorError(SandboxCode.INTERNAL, "component missing")
        generic = tool.generic.exports.get(call.tool) if tool.generic is not None else None
        # A generic export's arguments are checked against its WIT types before any
        # instance exists: a wrong one is refused, naming the field, and nothing runs.
        wit_args = _wit_arguments(generic, call.arguments) if generic is not None else ()
        key = (tool.compiled.sha256, cached_grant_key(grant, env))
        prepared = self._take(key)
        if prepared is None:
            prepared = self._prepare_component(component, grant, env)
        try:
            if generic is not None:
                raw = self._run_component(prepared, state, generic.func, wit_args, generic.instance)
                return _generic_result(call.id, generic, raw, grant.limits.result_bytes)
            raw = self._run_component(prepared, state, "call", (call.tool, args))
            if isinstance(raw, str):
                return _json_result(call.id, raw, grant.limits.result_bytes)
            return _tool_error(call.id, raw)
        finally:
            # Never reused: the reaper frees the store and everything the call did
            # to it. Both hand-offs come after the result is built, so the background
            # work never competes with this call for the CPU.
            self._reaper.retire(prepared)
            del prepared
            self._schedule_refill(key, lambda: self._prepare_component(component, grant, env))

    def _invoke_module(
        self,
        tool: LoadedTool,
        call: ToolCall,
        grant: Capabilities,
        env: tuple[tuple[str, str], ...],
        args: str,
        state: CallState,
    ) -> ToolResult:
        stdin = args.encode("utf-8")
        # Made on the request path, not pooled: a module instantiates in tens of
        # microseconds, less than a refill's thread hand-off costs (measured).
        # A module importing only the host channel gets no WASI context at all.
        prepared = self._prepare_module(tool, grant, (env, stdin) if tool.wasi else None)
        store, capture = prepared.store, prepared.capture
        state.stdin, state.capture = stdin, capture
        set_current(state)
        try:
            prepared.start(store)
        except wasmtime.ExitTrap as exit_trap:
            if exit_trap.code != 0:
                raise _limits_first(state, capture) or AgentorError(
                    SandboxCode.TOOL_EXIT,
                    f"the tool exited with status {exit_trap.code}: {_stderr_excerpt(capture)}",
                    hint="see the tool's documentation for what the status means",
                ) from None
        except _WASM_ERRORS as exc:
            limit_hit = _module_limit_hit(store, prepared.instance, grant)
            raise _limits_first(state, capture) or _classify_trap(
                exc, store, capture, limit_hit
            ) from None
        finally:
            set_current(None)
            # A module's store is small: freeing it here costs less than a
            # thread hand-off (measured), unlike a component's.
            del store, prepared
        tripped = _limits_first(state, capture)
        if tripped is not None:
            raise tripped
        return _json_result(call.id, bytes(capture.stdout), grant.limits.result_bytes)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._refiller.shutdown(wait=True, cancel_futures=True)
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._pool_lock:
            self._pools.clear()
        self._ticker.stop()
        self._reaper.stop()
        wait_for_streams(STREAM_DRAIN_SECONDS, self._captures)

    def __enter__(self) -> SandboxRuntime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _stderr_excerpt(capture: Capture) -> str:
    text = bytes(capture.stderr[-400:]).decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else " " for ch in text).strip() or "(no stderr)"


def _limits_first(state: CallState, capture: Capture) -> AgentorError | None:
    """A limit a host import or the output capture saw wins over whatever the guest did next."""
    if state.tripped is not None:
        messages = {
            SandboxCode.LOG_EXHAUSTED: f"the tool logged more than {state.limits.log_bytes} bytes",
            SandboxCode.HTTP_REQUESTS_EXHAUSTED: (
                f"the tool sent more than {state.limits.http_requests} HTTP requests"
            ),
        }
        return AgentorError(
            state.tripped, messages.get(state.tripped, str(state.tripped)), hint=_LIMIT_HINT
        )
    if capture.exceeded:
        return AgentorError(
            SandboxCode.OUTPUT_EXHAUSTED,
            f"the tool wrote more than {capture.limit} bytes to stdout and stderr",
            hint=_LIMIT_HINT,
        )
    return None


_RUNTIMES: weakref.WeakSet[SandboxRuntime] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # Runtimes never closed still hold pooled stores; drop them while the
    # interpreter can still serve wasmtime's stream callbacks (see wait_for_streams).
    for runtime in list(_RUNTIMES):
        runtime.close()
    wait_for_streams(STREAM_DRAIN_SECONDS)


def create_runtime(**options: Any) -> SandboxRuntime:
    """Entry-point factory (``agentor.tool_runtime``: ``sandbox``)."""
    return SandboxRuntime(**options)
