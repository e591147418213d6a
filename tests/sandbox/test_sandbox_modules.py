"""Preview 1 command modules: loading, calling, refusing, and the error codes of each failure."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sandbox_fixtures import ECHO_WAT, print_wat, wat_file

from agentor_core import Capabilities, ToolCall, ToolRuntime
from agentor_core.discovery import create
from agentor_core.errors import AgentorError
from agentor_sandbox import SandboxCode, SandboxRuntime, WasmKind
from agentor_sandbox.loader import kind_of


def call(tool: str, args: dict[str, object] | None = None, **fields: object) -> ToolCall:
    return ToolCall(id="c1", tool=tool, arguments=args or {}, **fields)  # type: ignore[arg-type]


def grant(**limits: int) -> Capabilities:
    return Capabilities.model_validate({"limits": limits})


def test_echo_module_returns_its_arguments(runtime: SandboxRuntime, echo_wasm: Path) -> None:
    specs = runtime.load(echo_wasm)
    assert [s.name for s in specs] == ["echo"]
    result = runtime.invoke(call("echo", {"a": [1, "two"]}), Capabilities())
    assert result.error is None
    assert result.content[0].model_dump()["data"] == {"a": [1, "two"]}
    assert result.labels.trust == "untrusted"


def test_runtime_is_found_by_entry_point(tmp_path: Path) -> None:
    rt = create(ToolRuntime, "sandbox", cache_dir=tmp_path)
    try:
        assert isinstance(rt, SandboxRuntime)
        assert isinstance(rt, ToolRuntime)
    finally:
        rt.close()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not wasm at all",
        b"\x00asm\x01\x00\x00\x00\xff\xff\xff",
        b"\x00asm\x0d\x00\x01\x00junk",
    ],
)
def test_malformed_wasm_is_a_load_error(runtime: SandboxRuntime, data: bytes) -> None:
    with pytest.raises(AgentorError) as info:
        runtime.load_bytes(data, source="bad.wasm")
    assert info.value.code == SandboxCode.LOAD_FAILED


def test_module_without_start_is_not_a_tool(runtime: SandboxRuntime, tmp_path: Path) -> None:
    path = wat_file(tmp_path, "lib", '(module (func (export "f")))')
    with pytest.raises(AgentorError) as info:
        runtime.load(path)
    assert info.value.code == SandboxCode.NOT_A_TOOL


def test_module_importing_unknown_functions_is_refused(
    runtime: SandboxRuntime, tmp_path: Path
) -> None:
    wat = '(module (import "env" "connect" (func (param i32))) (func (export "_start")))'
    with pytest.raises(AgentorError) as info:
        runtime.load(wat_file(tmp_path, "net", wat))
    assert info.value.code == SandboxCode.INSTANTIATE_FAILED


def test_kind_detection() -> None:
    assert kind_of(b"\x00asm\x01\x00\x00\x00") is WasmKind.MODULE
    assert kind_of(b"\x00asm\x0d\x00\x01\x00") is WasmKind.COMPONENT


def test_nonzero_exit_is_tool_exit(runtime: SandboxRuntime, tmp_path: Path) -> None:
    runtime.load(wat_file(tmp_path, "exit3", print_wat("(call $proc_exit (i32.const 3))")))
    result = runtime.invoke(call("exit3"), Capabilities())
    assert result.error is not None
    assert result.error.code == SandboxCode.TOOL_EXIT
    assert "3" in result.error.message


def test_exit_zero_with_json_is_success(runtime: SandboxRuntime, tmp_path: Path) -> None:
    body = "(drop (call $print (i32.const 100) (i32.const 4))) (call $proc_exit (i32.const 0))"
    runtime.load(wat_file(tmp_path, "ok", print_wat(body, data='(data (i32.const 100) "true")')))
    result = runtime.invoke(call("ok"), Capabilities())
    assert result.error is None
    assert result.content[0].model_dump()["data"] is True


def test_output_that_is_not_json_is_invalid_result(runtime: SandboxRuntime, tmp_path: Path) -> None:
    body = "(drop (call $print (i32.const 100) (i32.const 5)))"
    runtime.load(wat_file(tmp_path, "bad", print_wat(body, data='(data (i32.const 100) "{nope")')))
    result = runtime.invoke(call("bad"), Capabilities())
    assert result.error is not None
    assert result.error.code == SandboxCode.INVALID_RESULT


def test_unknown_tool_is_core_unknown_tool(runtime: SandboxRuntime) -> None:
    result = runtime.invoke(call("missing"), Capabilities())
    assert result.error is not None
    assert result.error.code == "core.unknown_tool"


def test_component_hash_must_match(runtime: SandboxRuntime, echo_wasm: Path) -> None:
    runtime.load(echo_wasm)
    right = runtime.component_hash("echo")
    assert right is not None
    ok = runtime.invoke(call("echo", component_hash=right), Capabilities())
    assert ok.error is None
    wrong = runtime.invoke(call("echo", component_hash="0" * 64), Capabilities())
    assert wrong.error is not None
    assert wrong.error.code == SandboxCode.COMPONENT_MISMATCH


def test_grant_with_missing_host_directory_is_refused(
    runtime: SandboxRuntime, echo_wasm: Path, tmp_path: Path
) -> None:
    runtime.load(echo_wasm)
    bad = Capabilities.model_validate(
        {"filesystem": [{"guest_path": "/data", "host_path": str(tmp_path / "absent")}]}
    )
    result = runtime.invoke(call("echo"), bad)
    assert result.error is not None
    assert result.error.code == SandboxCode.GRANT_INVALID
    no_host = Capabilities.model_validate({"filesystem": [{"guest_path": "/data"}]})
    result = runtime.invoke(call("echo"), no_host)
    assert result.error is not None
    assert result.error.code == SandboxCode.GRANT_INVALID


def test_async_invoke_does_not_block_the_loop(runtime: SandboxRuntime, tmp_path: Path) -> None:
    runtime.load(wat_file(tmp_path, "spin", '(module (func (export "_start") (loop $l (br $l))))'))
    runtime.load(wat_file(tmp_path, "echo", ECHO_WAT))

    async def main() -> tuple[str | None, int]:
        ticks = 0
        spin = asyncio.ensure_future(runtime.invoke_async(call("spin"), grant(deadline_ms=300)))
        while not spin.done():
            ticks += 1
            await asyncio.sleep(0.005)
        result = await spin
        return (result.error.code if result.error else None), ticks

    code, ticks = asyncio.run(main())
    assert code == SandboxCode.DEADLINE_EXCEEDED
    assert ticks > 3  # the loop kept running while the guest spun


def test_a_trap_in_one_thread_does_not_touch_calls_in_another(
    runtime: SandboxRuntime, tmp_path: Path, echo_wasm: Path
) -> None:
    runtime.load(echo_wasm)
    runtime.load(wat_file(tmp_path, "boom", '(module (func (export "_start") unreachable))'))
    errors: list[str] = []

    def worker(tool: str) -> None:
        for i in range(30):
            result = runtime.invoke(call(tool, {"i": i}), Capabilities())
            if tool == "echo" and (
                result.error or result.content[0].model_dump()["data"] != {"i": i}
            ):
                errors.append(f"echo {i}: {result}")
            if tool == "boom" and (result.error is None or result.error.code != SandboxCode.TRAP):
                errors.append(f"boom {i}: {result}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in ("echo", "boom", "echo")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("bad_input", "tool.bad_input"),
        ("egress.destination_denied", "tool.egress.destination_denied"),
        ("Bad Code", SandboxCode.TOOL_ERROR),
        ("x." * 60, SandboxCode.TOOL_ERROR),
        ("", SandboxCode.TOOL_ERROR),
    ],
)
def test_tool_error_codes_are_namespaced(code: str, expected: str) -> None:
    from wasmtime.component import Record

    from agentor_sandbox.runtime import _tool_error

    record = Record()
    record.code = code  # type: ignore[attr-defined]
    record.message = "m"  # type: ignore[attr-defined]
    result = _tool_error("c", record)
    assert result.error is not None
    assert result.error.code == expected


def test_two_wasm_files_cannot_serve_one_name(
    runtime: SandboxRuntime, echo_wasm: Path, tmp_path: Path
) -> None:
    runtime.load(echo_wasm)
    runtime.load(echo_wasm)  # the same file again is fine
    other = tmp_path / "other"
    other.mkdir()
    impostor = wat_file(other, "echo", '(module (func (export "_start")))')
    with pytest.raises(AgentorError) as info:
        runtime.load(impostor)
    assert info.value.code == SandboxCode.DUPLICATE_TOOL
