"""Generic components: any WASI preview 2 component's exported functions as tools.

A component of another world than ``agentor:tool`` (written in Rust, Go,
JavaScript, or Python without our SDK) has no ``describe``: its tools are its
exported functions, their schemas derived from the WIT types
(:mod:`agentor_sandbox.witjson`). Its imports are checked against what this host
can confine before it is ever instantiated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import wasmtime
from wasmtime import component as wc

from agentor_core.bounds import MAX_LIST_ITEMS
from agentor_core.components import ComponentReflection, SkippedExport
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolSpec
from agentor_sandbox.cache import CompileCache
from agentor_sandbox.codes import SandboxCode
from agentor_sandbox.engine import new_engine
from agentor_sandbox.loader import WasmKind, compile_wasm, kind_of
from agentor_sandbox.witjson import func_spec

# The WASI preview 2 interfaces the sandbox confines through the grant: files only
# under granted preopens, variables only as granted, stdio captured and bounded,
# clocks and randomness as for every tool. Sockets are linked but inert: the WASI
# context never gets network access, so every address is refused and name
# lookup is off (the same as for agentor:tool components).
CONFINED_IMPORTS: Final = (
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
    "agentor:tool/host",
)
"""Imports a generic component may have (any version). Everything else, including
``wasi:http`` (wasmtime-py's has no per-request hook for the egress allowlist), is refused."""

# componentize-py leaves its pre-initialisation hook exported; it is not a tool.
_TOOLCHAIN_EXPORTS: Final = {("exports", "init"): "componentize-py's initialisation hook"}
_VERSION: Final = re.compile(r"@[^@/]*$")


@dataclass(frozen=True, slots=True)
class GenericExport:
    """Where one tool lives in the component, and its WIT signature."""

    tool: str
    instance: str | None
    func: str
    params: tuple[tuple[str, Any], ...]
    result: Any | None


@dataclass(frozen=True, slots=True)
class GenericComponent:
    exports: dict[str, GenericExport]
    reflection: ComponentReflection


def tool_name(prefix: str, name: str) -> str:
    # "example:calc/ops@1.0.0" → "ops"; names keep to MCP's character set.
    short = _VERSION.sub("", prefix.rsplit("/", 1)[-1].rsplit(":", 1)[-1]) if prefix else ""
    full = f"{short}.{name}" if short else name
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", full)[:128].lstrip(".-") or "function"


def refused_imports(names: Iterable[str]) -> list[str]:
    allowed = set(CONFINED_IMPORTS)
    return sorted(name for name in names if _VERSION.sub("", name) not in allowed)


def check_imports(engine: wasmtime.Engine, component: wc.Component, source: str) -> None:
    refused = refused_imports(component.type.imports(engine))
    if refused:
        shown = ", ".join(refused[:8]) + (" …" if len(refused) > 8 else "")
        raise AgentorError(
            SandboxCode.IMPORT_REFUSED,
            f"{source} imports what the sandbox cannot confine to a grant: {shown}",
            hint="only WASI preview 2 cli, io, filesystem, clocks, random (sockets inert) "
            "and agentor:tool/host are offered; use agentor:tool/host http-fetch for network",
        )


def _functions(
    engine: wasmtime.Engine, component: wc.Component
) -> list[tuple[str | None, str, Any]]:
    found: list[tuple[str | None, str, Any]] = []
    for name, extern in sorted(component.type.exports(engine).items()):
        ty = extern.ty
        if isinstance(ty, wc.FuncType):
            found.append((None, name, ty))
        elif isinstance(ty, wc.ComponentInstanceType):
            for inner, inner_extern in sorted(ty.exports(engine).items()):
                if isinstance(inner_extern.ty, wc.FuncType):
                    found.append((name, inner, inner_extern.ty))
    return found


def reflect_component(engine: wasmtime.Engine, component: wc.Component) -> GenericComponent:
    """Every exported function with a JSON form, and the others with the reason."""
    exports: dict[str, GenericExport] = {}
    specs: list[ToolSpec] = []
    skipped: list[SkippedExport] = []
    functions = _functions(engine, component)
    if len(functions) > MAX_LIST_ITEMS:
        raise AgentorError(
            SandboxCode.NOT_A_TOOL,
            f"the component exports {len(functions)} functions; "
            f"at most {MAX_LIST_ITEMS} are served",
            hint="split it into smaller components",
        )
    for instance, func, ty in functions:
        name = tool_name(instance or "", func)
        internal = _TOOLCHAIN_EXPORTS.get((instance or "", func))
        if internal is not None:
            skipped.append(SkippedExport(name=name, reason=f"{internal}, not a tool"))
            continue
        if name in exports:
            skipped.append(SkippedExport(name=name, reason="another export has the same name"))
            continue
        params = tuple(ty.params)
        result = ty.result
        try:
            spec = func_spec(name, list(params), result)
        except AgentorError as exc:
            skipped.append(SkippedExport(name=name, reason=exc.message))
            continue
        specs.append(spec)
        exports[name] = GenericExport(name, instance, func, params, result)
    return GenericComponent(
        exports, ComponentReflection(tools=tuple(specs), skipped=tuple(skipped))
    )


class WitReflector:
    """:class:`~agentor_core.interfaces.ComponentReflector`: WIT exports as tool specs.

    Compiles the component (through the sandbox's compile cache, so a later call
    of it starts at once) to read its types; nothing is instantiated or run.
    """

    def __init__(self, *, cache_dir: Path | None = None, use_cache: bool = True) -> None:
        self._engine = new_engine()
        self._cache = CompileCache(cache_dir) if use_cache else None

    def reflect(self, wasm: bytes, *, source: str = "component") -> ComponentReflection:
        if kind_of(wasm) is not WasmKind.COMPONENT:
            raise AgentorError(
                SandboxCode.NOT_A_TOOL,
                f"{source} is a core module, not a component: it has no WIT types to reflect",
                hint="run a WASI preview 1 module as a command tool (JSON on stdin and stdout)",
            )
        compiled = compile_wasm(self._engine, wasm, source=source, cache=self._cache)
        if compiled.component is None:  # pragma: no cover - set for every component
            raise AgentorError(SandboxCode.INTERNAL, "component missing")
        return reflect_component(self._engine, compiled.component).reflection


def create_reflector(**options: Any) -> WitReflector:
    """Entry-point factory (``agentor.component_reflector``: ``wit``)."""
    return WitReflector(**options)
