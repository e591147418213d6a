"""Adversarial corpus, limits: each hostile module ends in its own code; the next call works."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_fixtures import ECHO_WAT, print_wat, wat_file

from agentor_core import Capabilities, ToolCall
from agentor_sandbox import SandboxCode, SandboxRuntime

LOOP = '(module (func (export "_start") (loop $l (br $l))))'
RECURSION = '(module (func $f (call $f)) (func (export "_start") (call $f)))'
MEMORY_BOMB = """(module (memory (export "memory") 1)
  (func (export "_start")
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable))"""
HUGE_INITIAL_MEMORY = '(module (memory (export "memory") 30000) (func (export "_start")))'
TABLE_BOMB = """(module (table (export "t") 1 funcref)
  (func (export "_start")
    (loop $l (br_if $l (i32.ne (table.grow (ref.null func) (i32.const 1000)) (i32.const -1))))
    unreachable))"""
HUGE_INITIAL_TABLE = '(module (table (export "t") 50000000 funcref) (func (export "_start")))'
# Bulk memory ops cost little fuel per instruction but much time: the deadline must catch them.
FUEL_AMPLIFIER = """(module (memory (export "memory") 256)
  (func (export "_start")
    (loop $l
      (memory.fill (i32.const 0) (i32.const 7) (i32.const 16777216))
      (memory.copy (i32.const 0) (i32.const 8388608) (i32.const 8388608))
      (br $l))))"""
STDOUT_BOMB = print_wat(
    "(loop $l (br_if $l (i32.eqz (call $print (i32.const 0) (i32.const 65536))))) unreachable",
    memory=2,
)
BIG_RESULT = print_wat("(drop (call $print (i32.const 0) (i32.const 131072)))", memory=3)
_CHANNEL = """
  (import "agentor:tool/core@0.1.0" "input-read" (func $read (param i32 i32) (result i32)))
  (import "agentor:tool/core@0.1.0" "output-write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 2)"""
# The host channel (no WASI context) is bounded exactly as stdout is.
CHANNEL_OUTPUT_BOMB = f"""(module {_CHANNEL}
  (func (export "_start")
    (loop $l (br_if $l (i32.ne (call $write (i32.const 0) (i32.const 65536)) (i32.const -1))))
    unreachable))"""
CHANNEL_BIG_RESULT = f"""(module {_CHANNEL}
  (func (export "_start") (drop (call $write (i32.const 0) (i32.const 131072)))))"""
# Asks for its arguments at every address, then loops: the host answers -1, never traps.
CHANNEL_PROBE = f"""(module {_CHANNEL}
  (func (export "_start") (local $p i32)
    (loop $l
      (drop (call $read (local.get $p) (i32.const -1)))
      (local.set $p (i32.add (local.get $p) (i32.const 4093)))
      (br $l))))"""
COUNTER = print_wat(
    """(global.set $g (i32.add (global.get $g) (i32.const 1)))
       (i32.store8 (i32.const 100) (i32.add (i32.const 48) (global.get $g)))
       (drop (call $print (i32.const 100) (i32.const 1)))""",
    data="(global $g (mut i32) (i32.const 0))",
)


def run(rt: SandboxRuntime, tool: str, limits: dict[str, int] | None = None) -> str | None:
    grant = Capabilities.model_validate({"limits": limits or {}})
    result = rt.invoke(ToolCall(id="x", tool=tool, arguments={}), grant)
    return result.error.code if result.error else None


CASES = [
    ("loop", LOOP, {"deadline_ms": 200, "fuel": 10**13}, SandboxCode.DEADLINE_EXCEEDED),
    ("loop_fuel", LOOP, {"fuel": 1_000_000}, SandboxCode.FUEL_EXHAUSTED),
    ("recursion", RECURSION, {}, SandboxCode.STACK_EXHAUSTED),
    ("memory_bomb", MEMORY_BOMB, {"memory_bytes": 8 * 1024 * 1024}, SandboxCode.MEMORY_EXHAUSTED),
    ("huge_memory", HUGE_INITIAL_MEMORY, {}, SandboxCode.MEMORY_EXHAUSTED),
    ("table_bomb", TABLE_BOMB, {"table_elements": 10_000}, SandboxCode.TABLE_EXHAUSTED),
    ("huge_table", HUGE_INITIAL_TABLE, {}, SandboxCode.TABLE_EXHAUSTED),
    (
        "amplifier",
        FUEL_AMPLIFIER,
        {"deadline_ms": 300, "fuel": 10**13},
        SandboxCode.DEADLINE_EXCEEDED,
    ),
    ("stdout_bomb", STDOUT_BOMB, {"output_bytes": 1024 * 1024}, SandboxCode.OUTPUT_EXHAUSTED),
    ("big_result", BIG_RESULT, {"result_bytes": 65536}, SandboxCode.RESULT_TOO_LARGE),
    (
        "channel_output_bomb",
        CHANNEL_OUTPUT_BOMB,
        {"output_bytes": 1024 * 1024},
        SandboxCode.OUTPUT_EXHAUSTED,
    ),
    (
        "channel_big_result",
        CHANNEL_BIG_RESULT,
        {"result_bytes": 65536},
        SandboxCode.RESULT_TOO_LARGE,
    ),
    # Host calls cost no fuel; the deadline still ends a guest that makes them forever.
    (
        "channel_probe",
        CHANNEL_PROBE,
        {"deadline_ms": 300, "fuel": 10**13},
        SandboxCode.DEADLINE_EXCEEDED,
    ),
]


@pytest.mark.parametrize(("name", "wat", "limits", "code"), CASES, ids=[c[0] for c in CASES])
def test_hostile_module_ends_in_its_code_and_host_survives(
    corpus_runtime: SandboxRuntime,
    tmp_path: Path,
    name: str,
    wat: str,
    limits: dict[str, int],
    code: SandboxCode,
) -> None:
    corpus_runtime.load(wat_file(tmp_path, "echo", ECHO_WAT))
    corpus_runtime.load(wat_file(tmp_path, name, wat))
    assert run(corpus_runtime, name, limits) == code
    # The host is alive and the next call is unaffected.
    result = corpus_runtime.invoke(
        ToolCall(id="y", tool="echo", arguments={"ok": 1}), Capabilities()
    )
    assert result.error is None
    assert result.content[0].model_dump()["data"] == {"ok": 1}


def test_module_state_never_survives_a_call(corpus_runtime: SandboxRuntime, tmp_path: Path) -> None:
    corpus_runtime.load(wat_file(tmp_path, "counter", COUNTER))
    results = [
        corpus_runtime.invoke(ToolCall(id="c", tool="counter"), Capabilities()) for _ in range(3)
    ]
    assert [r.content[0].model_dump()["data"] for r in results] == [1, 1, 1]


ENV_COUNT = print_wat(
    """(drop (call $environ_sizes_get (i32.const 200) (i32.const 204)))
       (i32.store8 (i32.const 100) (i32.add (i32.const 48) (i32.load (i32.const 200))))
       (drop (call $print (i32.const 100) (i32.const 1)))""",
    imports='(import "wasi_snapshot_preview1" "environ_sizes_get" '
    "(func $environ_sizes_get (param i32 i32) (result i32)))",
)


def test_no_environment_unless_granted(
    corpus_runtime: SandboxRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOR_TEST_SECRET", "leak")
    corpus_runtime.load(wat_file(tmp_path, "envcount", ENV_COUNT))
    none = corpus_runtime.invoke(ToolCall(id="e", tool="envcount"), Capabilities())
    assert none.content[0].model_dump()["data"] == 0
    one = Capabilities.model_validate({"env": [{"name": "AGENTOR_TEST_SECRET"}]})
    result = corpus_runtime.invoke(ToolCall(id="e", tool="envcount"), one)
    assert result.content[0].model_dump()["data"] == 1


SOCK_ACCEPT = print_wat(
    """(i32.store8 (i32.const 100)
         (i32.add (i32.const 48)
           (i32.ne (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 200)) (i32.const 0))))
       (drop (call $print (i32.const 100) (i32.const 1)))""",
    imports='(import "wasi_snapshot_preview1" "sock_accept" '
    "(func $sock_accept (param i32 i32 i32) (result i32)))",
)


def test_preview1_sockets_have_nothing_to_use(
    corpus_runtime: SandboxRuntime, tmp_path: Path
) -> None:
    corpus_runtime.load(wat_file(tmp_path, "sock", SOCK_ACCEPT))
    result = corpus_runtime.invoke(ToolCall(id="s", tool="sock"), Capabilities())
    assert result.content[0].model_dump()["data"] == 1  # sock_accept failed: no socket exists


@pytest.mark.parametrize(
    "wat",
    [
        '(module (import "wasi:sockets/tcp" "connect" (func)) (func (export "_start")))',
        (
            '(module (import "wasi_snapshot_preview1" "sock_open"'
            ' (func (param i32 i32 i32) (result i32))) (func (export "_start")))'
        ),
    ],
)
def test_network_imports_are_not_linked(
    corpus_runtime: SandboxRuntime, tmp_path: Path, wat: str
) -> None:
    from agentor_core.errors import AgentorError

    with pytest.raises(AgentorError) as info:
        corpus_runtime.load(wat_file(tmp_path, "net", wat))
    assert info.value.code == SandboxCode.INSTANTIATE_FAILED


def test_component_importing_wasi_http_is_refused(corpus_runtime: SandboxRuntime) -> None:
    import wasmtime

    from agentor_core.errors import AgentorError

    wat = """(component
      (import "wasi:http/outgoing-handler@0.2.0" (instance (export "handle" (func))))
      (core module $m (func (export "d") (result i32) i32.const 0))
    )"""
    with pytest.raises(AgentorError) as info:
        corpus_runtime.load_bytes(wasmtime.wat2wasm(wat), source="http.wasm")
    # Refused by the import check, before anything is instantiated.
    assert info.value.code == SandboxCode.IMPORT_REFUSED


def test_instance_bomb_component_is_refused(corpus_runtime: SandboxRuntime) -> None:
    import wasmtime
    from wasmtime import component as wc

    from agentor_core.errors import AgentorError

    many = " ".join("(core instance (instantiate $m))" for _ in range(10))
    wat = f"(component (core module $m) {many})"
    component = wc.Component(corpus_runtime._engine, wasmtime.wat2wasm(wat))
    limited = Capabilities.model_validate({"limits": {"instances": 3}})
    with pytest.raises(AgentorError) as info:
        corpus_runtime._prepare_component(component, limited, ())
    assert info.value.code == SandboxCode.INSTANCES_EXHAUSTED
