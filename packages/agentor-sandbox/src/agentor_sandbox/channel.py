"""The host channel of core modules: arguments in and result out without WASI stdio.

A preview 1 command module may import these functions instead of (or as well
as) reading stdin and writing stdout. wasmtime routes WASI stdio through its
async runtime and hands captured output to Python from its own I/O threads;
that is most of a small module's call time. A module that imports nothing from
WASI gets no WASI context at all (so nothing ambient to configure either).

Two functions, since each host call costs 10 to 15 µs in wasmtime-py.
ABI, import module ``agentor:tool/core@0.1.0``; the module exports its linear
memory as ``memory``. Pointers and lengths are unsigned i32.

- ``input-read(ptr, cap) -> i32``: the byte length of the JSON arguments;
  they are copied to ``ptr`` only if that length is at most ``cap`` (else
  call again with a larger buffer). -1 if they do not fit in memory at ``ptr``
  (nothing is written).
- ``output-write(ptr, len) -> i32``: appends ``len`` bytes at ``ptr`` to the
  result; returns ``len``, or -1 if the range is outside memory or the call's
  output would pass ``output_bytes`` (then the call ends with
  ``sandbox.output_exhausted``, as for stdout). What it writes and what the
  module writes to stdout form one result, counted together with stderr.

The arguments exist only while ``_start`` runs (a start section gets -1).
Each function finds its call through the thread-local call state and never
raises (every range is checked before memory is touched): a Python exception
in a host function would surface as a trap with an unrelated message.
"""

from __future__ import annotations

from typing import Final

import wasmtime

from agentor_sandbox.state import CallState, current

CORE_MODULE: Final = "agentor:tool/core@0.1.0"
_U32: Final = 0xFFFFFFFF


def _memory(caller: wasmtime.Caller) -> wasmtime.Memory | None:
    item = caller.get("memory")
    return item if isinstance(item, wasmtime.Memory) else None


def _call() -> CallState | None:
    state = current()
    return state if state is not None and state.capture is not None else None


def input_read(caller: wasmtime.Caller, ptr: int, cap: int) -> int:
    state = _call()
    if state is None:
        return -1
    data = state.stdin
    if len(data) > cap & _U32 or not data:
        return len(data)
    memory = _memory(caller)
    start = ptr & _U32
    if memory is None or start + len(data) > memory.data_len(caller):
        return -1
    memory.write(caller, data, start)
    return len(data)


def output_write(caller: wasmtime.Caller, ptr: int, length: int) -> int:
    state = _call()
    memory = _memory(caller)
    if state is None or state.capture is None or memory is None:
        return -1
    start, size = ptr & _U32, length & _U32
    if start + size > memory.data_len(caller):
        return -1
    capture = state.capture
    # Refused before anything is copied: a guest may name its whole memory.
    if not capture.has_room(size):
        return -1
    if size == 0:
        return 0
    written = capture.write_stdout(bytes(memory.read(caller, start, start + size)))
    return size if written == size else -1


def define_channel(linker: wasmtime.Linker) -> None:
    """Add the channel to a core-module ``linker`` (store-independent host functions)."""
    i32 = wasmtime.ValType.i32()
    linker.define_func(
        CORE_MODULE,
        "input-read",
        wasmtime.FuncType([i32, i32], [i32]),
        input_read,
        access_caller=True,
    )
    linker.define_func(
        CORE_MODULE,
        "output-write",
        wasmtime.FuncType([i32, i32], [i32]),
        output_write,
        access_caller=True,
    )
