"""Turning wasm bytes into compiled code: validate, compile or load from cache, report progress."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

import wasmtime
from wasmtime import component as wc

from agentor_core.errors import AgentorError
from agentor_sandbox.cache import CompileCache, key_for
from agentor_sandbox.codes import SandboxCode

MAX_WASM_BYTES: Final = 256 * 1024 * 1024
_MODULE_HEADER: Final = b"\x00asm\x01\x00\x00\x00"
_COMPONENT_HEADER: Final = b"\x00asm\x0d\x00\x01\x00"


class WasmKind(StrEnum):
    COMPONENT = "component"
    """A WASI preview 2 component of the agentor:tool world."""
    MODULE = "module"
    """A WASI preview 1 command module: JSON on stdin, JSON on stdout."""


class Stage(StrEnum):
    COMPILING = "compiling"
    COMPILED = "compiled"
    CACHED = "cached"


@dataclass(frozen=True, slots=True)
class CompileProgress:
    """What a progress callback receives around a compile (the CLI renders it)."""

    stage: Stage
    source: str
    wasm_bytes: int
    seconds: float = 0.0


ProgressCallback = Callable[[CompileProgress], None]


@dataclass(frozen=True, slots=True)
class Compiled:
    kind: WasmKind
    sha256: str
    source: str
    component: wc.Component | None
    module: wasmtime.Module | None


def kind_of(wasm: bytes) -> WasmKind:
    head = wasm[:8]
    if head == _MODULE_HEADER:
        return WasmKind.MODULE
    if head == _COMPONENT_HEADER:
        return WasmKind.COMPONENT
    raise AgentorError(
        SandboxCode.LOAD_FAILED,
        "not a WebAssembly module or component (bad header)",
        hint="pass a .wasm file built for WASI preview 1 or preview 2",
    )


def read_wasm(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_WASM_BYTES:
            raise AgentorError(
                SandboxCode.LOAD_FAILED,
                f"{path.name} is {size} bytes; the limit is {MAX_WASM_BYTES}",
                hint="a tool this large is refused; build a smaller one",
            )
        # A bounded read: stat says 0 for pipes and devices, and a file may grow.
        with path.open("rb") as handle:
            data = handle.read(MAX_WASM_BYTES + 1)
    except OSError as exc:
        raise AgentorError(
            SandboxCode.LOAD_FAILED,
            f"cannot read {path}: {exc.strerror or exc}",
            hint="check the path and its permissions",
        ) from None
    if len(data) > MAX_WASM_BYTES:
        raise AgentorError(
            SandboxCode.LOAD_FAILED,
            f"{path.name} is over the {MAX_WASM_BYTES}-byte limit",
            hint="a tool this large is refused; build a smaller one",
        )
    return data


def _load_error(source: str, exc: Exception) -> AgentorError:
    # wasmtime's messages name the offset and the problem; keep the first lines only.
    detail = " ".join(str(exc).splitlines()[:3])[:600]
    return AgentorError(
        SandboxCode.LOAD_FAILED,
        f"{source} is not valid WebAssembly: {detail}",
        hint="rebuild the tool; if it came from someone else, do not run it",
    )


def compile_wasm(
    engine: wasmtime.Engine,
    wasm: bytes,
    *,
    source: str,
    cache: CompileCache | None,
    progress: ProgressCallback | None = None,
) -> Compiled:
    """Compile ``wasm`` (or load its authenticated native code) for ``engine``."""
    if len(wasm) > MAX_WASM_BYTES:
        raise AgentorError(
            SandboxCode.LOAD_FAILED,
            f"{source} is {len(wasm)} bytes; the limit is {MAX_WASM_BYTES}",
            hint="a tool this large is refused; build a smaller one",
        )
    kind = kind_of(wasm)
    sha = hashlib.sha256(wasm).hexdigest()
    key = key_for(sha, kind.value)
    artifact = cache.load(key) if cache is not None else None
    started = time.monotonic()
    if artifact is not None:
        try:
            if kind is WasmKind.COMPONENT:
                comp = wc.Component.deserialize(engine, artifact)
                loaded = Compiled(kind, sha, source, comp, None)
            else:
                mod = wasmtime.Module.deserialize(engine, artifact)
                loaded = Compiled(kind, sha, source, None, mod)
        except wasmtime.WasmtimeError:
            # Authentic but incompatible (e.g. a different CPU): compile afresh.
            artifact = None
        else:
            if progress is not None:
                progress(
                    CompileProgress(Stage.CACHED, source, len(wasm), time.monotonic() - started)
                )
            return loaded
    if progress is not None:
        progress(CompileProgress(Stage.COMPILING, source, len(wasm)))
    try:
        if kind is WasmKind.COMPONENT:
            comp = wc.Component(engine, wasm)
            compiled = Compiled(kind, sha, source, comp, None)
            serialized = bytes(comp.serialize())
        else:
            mod = wasmtime.Module(engine, wasm)
            compiled = Compiled(kind, sha, source, None, mod)
            serialized = bytes(mod.serialize())
    except wasmtime.WasmtimeError as exc:
        raise _load_error(source, exc) from None
    if cache is not None:
        cache.store(key, serialized)
    if progress is not None:
        progress(CompileProgress(Stage.COMPILED, source, len(wasm), time.monotonic() - started))
    return compiled
