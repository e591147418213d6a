"""The host channel of core modules: arguments in and result out without WASI stdio."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_fixtures import CHANNEL_ECHO_WAT, ECHO_WAT, wat_file

from agentor_core import Capabilities, ToolCall, ToolResult
from agentor_core.errors import AgentorError
from agentor_sandbox import SandboxCode, SandboxRuntime

_IMPORTS = """
  (import "agentor:tool/core@0.1.0" "input-read" (func $read (param i32 i32) (result i32)))
  (import "agentor:tool/core@0.1.0" "output-write" (func $write (param i32 i32) (result i32)))
"""


def channel_wat(body: str, *, memory: str = '(memory (export "memory") 1)') -> str:
    """A channel-only module; ``data`` at 0 holds ``{"ok":true}`` (11 bytes)."""
    return f"""(module {_IMPORTS} {memory}
  (data (i32.const 0) "{{\\"ok\\":true}}")
  (func (export "_start") {body}))"""


OK_RESULT = "(drop (call $write (i32.const 0) (i32.const 11)))"
UNREACHABLE = "(then unreachable))"


def call(tool: str, args: dict[str, object] | None = None) -> ToolCall:
    return ToolCall(id="c1", tool=tool, arguments=args or {})


def grant(**limits: int) -> Capabilities:
    return Capabilities.model_validate({"limits": limits})


def run(
    runtime: SandboxRuntime, tmp_path: Path, wat: str, limits: dict[str, int] | None = None
) -> ToolResult:
    runtime.load(wat_file(tmp_path, "t", wat))
    return runtime.invoke(call("t", {"text": "hello"}), grant(**(limits or {})))


def test_channel_echo_returns_its_arguments(runtime: SandboxRuntime, tmp_path: Path) -> None:
    runtime.load(wat_file(tmp_path, "echo", CHANNEL_ECHO_WAT))
    args = {"a": [1, "two"], "text": "é" * 50}
    result = runtime.invoke(call("echo", args), Capabilities())
    assert result.error is None
    assert result.content[0].model_dump()["data"] == args
    assert result.labels.trust == "untrusted"


def test_channel_and_stdio_tools_agree(runtime: SandboxRuntime, tmp_path: Path) -> None:
    runtime.load(wat_file(tmp_path, "stdio", ECHO_WAT))
    runtime.load(wat_file(tmp_path, "chan", CHANNEL_ECHO_WAT))
    args = {"n": 3, "nested": {"list": [True, None]}}
    one = runtime.invoke(call("stdio", args), Capabilities())
    two = runtime.invoke(call("chan", args), Capabilities())
    assert one.content == two.content


def test_small_buffer_gets_the_length_and_nothing_is_written(
    runtime: SandboxRuntime, tmp_path: Path
) -> None:
    # With cap 1 the arguments (16 bytes) are not copied: memory at 64 stays zero,
    # and the returned length lets the guest retry with a buffer that fits.
    body = """
    (if (i32.ne (call $read (i32.const 64) (i32.const 1)) (i32.const 16)) (then unreachable))
    (if (i32.ne (i32.load8_u (i32.const 64)) (i32.const 0)) (then unreachable))
    (drop (call $write (i32.const 64) (call $read (i32.const 64) (i32.const 16))))"""
    result = run(runtime, tmp_path, channel_wat(body))
    assert result.error is None
    assert result.content[0].model_dump()["data"] == {"text": "hello"}


@pytest.mark.parametrize(
    "body",
    [
        # arguments past the end of memory
        "(if (i32.ne (call $read (i32.const 65530) (i32.const 60000)) (i32.const -1)) "
        + UNREACHABLE,
        # a pointer past 2 GiB is unsigned, not negative
        "(if (i32.ne (call $read (i32.const -8) (i32.const 60000)) (i32.const -1)) " + UNREACHABLE,
        # output range past the end of memory
        "(if (i32.ne (call $write (i32.const 65000) (i32.const 1000)) (i32.const -1)) "
        + UNREACHABLE,
        "(if (i32.ne (call $write (i32.const 0) (i32.const -1)) (i32.const -1)) " + UNREACHABLE,
    ],
)
def test_out_of_bounds_ranges_are_refused_not_trapped(
    runtime: SandboxRuntime, tmp_path: Path, body: str
) -> None:
    result = run(runtime, tmp_path, channel_wat(body + OK_RESULT))
    assert result.error is None
    assert result.content[0].model_dump()["data"] == {"ok": True}


def test_output_past_its_limit_is_output_exhausted(runtime: SandboxRuntime, tmp_path: Path) -> None:
    body = """
    (if (i32.ne (call $write (i32.const 0) (i32.const 60000)) (i32.const -1)) (then unreachable))"""
    result = run(runtime, tmp_path, channel_wat(body), {"output_bytes": 1000})
    assert result.error is not None
    assert result.error.code == SandboxCode.OUTPUT_EXHAUSTED


def test_output_writes_add_up_to_one_result(runtime: SandboxRuntime, tmp_path: Path) -> None:
    # '{"ok"' then ':true}' in two writes.
    body = (
        "(drop (call $write (i32.const 0) (i32.const 5)))"
        "(drop (call $write (i32.const 5) (i32.const 6)))"
    )
    result = run(runtime, tmp_path, channel_wat(body))
    assert result.error is None
    assert result.content[0].model_dump()["data"] == {"ok": True}


def test_no_output_is_invalid_result(runtime: SandboxRuntime, tmp_path: Path) -> None:
    result = run(runtime, tmp_path, channel_wat(""))
    assert result.error is not None
    assert result.error.code == SandboxCode.INVALID_RESULT


def test_without_exported_memory_the_channel_refuses(
    runtime: SandboxRuntime, tmp_path: Path
) -> None:
    wat = f"""(module {_IMPORTS} (memory 1)
      (func (export "_start")
        (if (i32.ne (call $read (i32.const 0) (i32.const 100)) (i32.const -1))
          (then unreachable))))"""
    result = run(runtime, tmp_path, wat)
    # Nothing could be written, so the result is empty.
    assert result.error is not None
    assert result.error.code == SandboxCode.INVALID_RESULT


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        ({"fuel": 10_000}, SandboxCode.FUEL_EXHAUSTED),
        ({"deadline_ms": 30, "fuel": 10**13}, SandboxCode.DEADLINE_EXCEEDED),
    ],
)
def test_limits_hold_without_wasi(
    runtime: SandboxRuntime, tmp_path: Path, limits: dict[str, int], code: SandboxCode
) -> None:
    result = run(runtime, tmp_path, channel_wat("(loop $l (br $l))"), limits)
    assert result.error is not None
    assert result.error.code == code


def test_memory_limit_holds_without_wasi(runtime: SandboxRuntime, tmp_path: Path) -> None:
    # Grows a page at a time until refused, then traps (as a guest's allocator would).
    body = "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable"
    result = run(runtime, tmp_path, channel_wat(body + OK_RESULT), {"memory_bytes": 1 << 20})
    assert result.error is not None
    assert result.error.code == SandboxCode.MEMORY_EXHAUSTED


def test_a_fresh_instance_per_call(runtime: SandboxRuntime, tmp_path: Path) -> None:
    # A global the first call sets is back to 0 in the next: nothing carries over.
    wat = f"""(module {_IMPORTS} (memory (export "memory") 1)
      (global $seen (mut i32) (i32.const 0))
      (data (i32.const 0) "{{\\"ok\\":true}}")
      (func (export "_start")
        (if (global.get $seen) (then unreachable))
        (global.set $seen (i32.const 1))
        {OK_RESULT}))"""
    runtime.load(wat_file(tmp_path, "t", wat))
    for _ in range(3):
        assert runtime.invoke(call("t"), Capabilities()).error is None


@pytest.mark.parametrize(
    "signature",
    [
        '"input-read" (func (param i32) (result i32))',
        '"output-write" (func (param i32 i32))',
        '"input-len" (func (result i32))',
    ],
)
def test_a_wrong_channel_import_is_refused_at_load(
    runtime: SandboxRuntime, tmp_path: Path, signature: str
) -> None:
    wat = f'(module (import "agentor:tool/core@0.1.0" {signature}) (func (export "_start")))'
    with pytest.raises(AgentorError) as info:
        runtime.load(wat_file(tmp_path, "bad", wat))
    assert info.value.code == SandboxCode.INSTANTIATE_FAILED


def test_a_module_using_wasi_at_instantiation_gets_its_context(
    runtime: SandboxRuntime, tmp_path: Path
) -> None:
    # wasmtime aborts the process if a WASI import runs in a store without a WASI
    # context; only modules importing nothing from WASI go without one.
    wat = f"""(module {_IMPORTS}
      (import "wasi_snapshot_preview1" "fd_write"
        (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "{{\\"ok\\":true}}")
      (func $early
        (i32.store (i32.const 100) (i32.const 0))
        (i32.store (i32.const 104) (i32.const 0))
        (drop (call $fd_write (i32.const 2) (i32.const 100) (i32.const 1) (i32.const 108))))
      (start $early)
      (func (export "_start") {OK_RESULT}))"""
    result = run(runtime, tmp_path, wat)
    assert result.error is None
    assert result.content[0].model_dump()["data"] == {"ok": True}


def test_a_start_section_gets_no_arguments(runtime: SandboxRuntime, tmp_path: Path) -> None:
    wat = f"""(module {_IMPORTS} (memory (export "memory") 1)
      (global $early (mut i32) (i32.const 0))
      (data (i32.const 0) "{{\\"ok\\":true}}")
      (func $init (global.set $early (call $read (i32.const 64) (i32.const 1000))))
      (start $init)
      (func (export "_start")
        (if (i32.ne (global.get $early) (i32.const -1)) (then unreachable))
        {OK_RESULT}))"""
    result = run(runtime, tmp_path, wat)
    assert result.error is None
    assert result.content[0].model_dump()["data"] == {"ok": True}
