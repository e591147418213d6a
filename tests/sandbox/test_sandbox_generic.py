"""Generic components: a custom WIT world's exports called as tools, under the usual limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import wasmtime

from agentor_core.capabilities import Capabilities
from agentor_core.discovery import create
from agentor_core.errors import AgentorError
from agentor_core.interfaces import ComponentReflector
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.tools import ToolCall, ToolResult
from agentor_sandbox import SandboxCode, SandboxRuntime
from agentor_sandbox.generic import refused_imports

MAX_SAFE = 2**53 - 1


def call(
    rt: SandboxRuntime, tool: str, grant: Capabilities | None = None, **args: Any
) -> ToolResult:
    return rt.invoke(ToolCall(id="g", tool=tool, arguments=args), grant or Capabilities())


def result(rt: SandboxRuntime, tool: str, grant: Capabilities | None = None, **args: Any) -> Any:
    out = call(rt, tool, grant, **args)
    assert out.error is None, out.error
    data = out.content[0].model_dump()["data"]
    return data["result"]


def code(rt: SandboxRuntime, tool: str, grant: Capabilities | None = None, **args: Any) -> str:
    out = call(rt, tool, grant, **args)
    assert out.error is not None, out.content
    return out.error.code


def test_every_export_is_a_tool_with_a_schema(generic_runtime: SandboxRuntime) -> None:
    specs = {spec.name: spec for spec in generic_runtime.list_tools()}
    assert {"echo-ints", "move-point", "echo-shape", "toggle", "divide"} <= set(specs)
    # componentize-py's own initialisation hook is not offered as a tool.
    assert not any(name.startswith("exports") for name in specs)
    point = specs["move-point"].input_schema["properties"]["p"]
    assert point["required"] == ["x", "y"]
    assert specs["divide"].output_schema is not None


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        (
            "echo-ints",
            {"a": 255, "b": 65535, "c": 2**32 - 1, "d": MAX_SAFE, "e": -128, "f": -32768}
            | {"g": -(2**31), "h": -MAX_SAFE},
            [255, 65535, 2**32 - 1, MAX_SAFE, -128, -32768, -(2**31), -MAX_SAFE],
        ),
        ("echo-floats", {"a": 1.5, "b": -2}, [1.5, -2.0]),
        ("echo-char", {"c": "é", "flag": True}, ["é", True]),
        ("move-point", {"p": {"x": 1, "y": -2}, "dx": 3}, {"x": 4, "y": -2}),
        ("echo-shape", {"s": {"circle": 2.5}}, {"circle": 2.5}),
        ("echo-shape", {"s": {"rect": {"x": 1, "y": 2}}}, {"rect": {"x": 1, "y": 2}}),
        ("echo-shape", {"s": "empty"}, "empty"),
        ("next-color", {"c": "blue"}, "red"),
        ("toggle", {"p": ["read"]}, ["write", "exec"]),
        ("toggle", {"p": []}, ["read", "write", "exec"]),
        ("find", {"items": ["a", "b"], "needle": "b"}, 1),
        ("find", {"items": ["a"], "needle": None}, None),
        ("divide", {"a": 7, "b": 2}, {"ok": 3}),
        ("divide", {"a": 7, "b": 0}, {"err": "division by zero"}),
        ("reverse-bytes", {"data": [0, 1, 255]}, [255, 1, 0]),
        ("swap-pairs", {"items": [["a", 1], ["b", 2]]}, [[1, "a"], [2, "b"]]),
    ],
)
def test_each_type_round_trips(
    generic_runtime: SandboxRuntime, tool: str, args: dict[str, Any], expected: Any
) -> None:
    assert result(generic_runtime, tool, **args) == expected


def test_results_are_structured_and_untrusted(generic_runtime: SandboxRuntime) -> None:
    out = call(generic_runtime, "next-color", c="red")
    assert out.content[0].model_dump() == {"type": "json", "data": {"result": "green"}}
    assert out.labels == LabelSet.of(Label.of(Source.UNTRUSTED_TOOL))


@pytest.mark.parametrize(
    ("tool", "args", "field"),
    [
        ("move-point", {"p": {"x": 1}, "dx": 0}, "'p'.y"),
        ("move-point", {"p": {"x": 1, "y": 2, "z": 3}, "dx": 0}, "'p'.z"),
        ("move-point", {"p": {"x": "1", "y": 2}, "dx": 0}, "'p'.x"),
        ("echo-ints", {"a": 256, "b": 0, "c": 0, "d": 0, "e": 0, "f": 0, "g": 0, "h": 0}, "'a'"),
        ("echo-ints", {"a": 0, "b": 0, "c": -1, "d": 0, "e": 0, "f": 0, "g": 0, "h": 0}, "'c'"),
        ("echo-ints", {"a": True, "b": 0, "c": 0, "d": 0, "e": 0, "f": 0, "g": 0, "h": 0}, "'a'"),
        ("echo-char", {"c": "ab", "flag": True}, "'c'"),
        ("echo-shape", {"s": {"square": 1}}, "'s'"),
        ("echo-shape", {"s": {"circle": "big"}}, "'s'.circle"),
        ("next-color", {"c": "purple"}, "'c'"),
        ("toggle", {"p": ["read", "read"]}, "'p'"),
        ("divide", {"a": 1}, "'b'"),
        ("swap-pairs", {"items": [["a", 1, 2]]}, "'items'[0]"),
        ("echo-floats", {"a": 1e39, "b": 0}, "'a'"),
        ("spin", {"forever": True}, "'forever'"),
    ],
)
def test_a_wrong_argument_is_refused_naming_the_field(
    generic_runtime: SandboxRuntime, tool: str, args: dict[str, Any], field: str
) -> None:
    out = call(generic_runtime, tool, **args)
    assert out.error is not None
    assert out.error.code == SandboxCode.ARGUMENTS_INVALID
    assert field in out.error.message


def test_the_guest_never_runs_on_a_wrong_argument(generic_runtime: SandboxRuntime) -> None:
    # hog would exhaust memory and spin its fuel if they ran; they are refused first.
    assert code(generic_runtime, "hog", megabytes="lots") == SandboxCode.ARGUMENTS_INVALID
    assert code(generic_runtime, "spin", x=1) == SandboxCode.ARGUMENTS_INVALID


def test_trap_fuel_deadline_and_memory_end_in_the_usual_codes(
    generic_runtime: SandboxRuntime,
) -> None:
    assert code(generic_runtime, "crash") == SandboxCode.TRAP
    assert code(generic_runtime, "spin") == SandboxCode.FUEL_EXHAUSTED
    slow = Capabilities.model_validate({"limits": {"fuel": 10**13, "deadline_ms": 200}})
    assert code(generic_runtime, "spin", slow) == SandboxCode.DEADLINE_EXCEEDED
    assert code(generic_runtime, "hog", megabytes=1024) == SandboxCode.MEMORY_EXHAUSTED
    # Each call had a fresh instance: the runtime still answers.
    assert result(generic_runtime, "next-color", c="green") == "blue"


def test_files_only_under_granted_preopens(generic_runtime: SandboxRuntime, tmp_path: Path) -> None:
    pre, outside = tmp_path / "pre", tmp_path / "outside"
    pre.mkdir()
    outside.mkdir()
    (pre / "ok.txt").write_text("inside")
    (outside / "secret.txt").write_text("outside secret")
    grant = Capabilities.model_validate(
        {"filesystem": [{"guest_path": "/data", "host_path": str(pre), "write": False}]}
    )
    assert result(generic_runtime, "read-file", grant, path="/data/ok.txt") == {"ok": "inside"}
    for path in ("/data/../outside/secret.txt", str(outside / "secret.txt"), "/etc/passwd"):
        got = result(generic_runtime, "read-file", grant, path=path)
        assert "err" in got, path
    assert "err" in result(generic_runtime, "read-file", path="/data/ok.txt")


def test_env_only_as_granted_and_no_sockets(
    generic_runtime: SandboxRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOR_GENERIC_LEAK", "host-secret")
    assert result(generic_runtime, "get-env", name="AGENTOR_GENERIC_LEAK") is None
    grant = Capabilities.model_validate({"env": [{"name": "FIXED", "value": "v"}]})
    assert result(generic_runtime, "get-env", grant, name="FIXED") == "v"
    assert "err" in result(generic_runtime, "try-connect", port=9)


def _component_importing(interface: str) -> bytes:
    wat = f"""(component
      (import "{interface}" (instance (export "f" (func))))
      (core module $m (func (export "g") (result i32) i32.const 1))
      (core instance $i (instantiate $m))
      (func $g (result u32) (canon lift (core func $i "g")))
      (export "g" (func $g)))"""
    return bytes(wasmtime.wat2wasm(wat))


@pytest.mark.parametrize(
    "interface", ["wasi:http/outgoing-handler@0.2.0", "example:evil/raw-syscalls", "wasi:cli/run"]
)
def test_unconfinable_imports_are_refused_before_instantiation(
    runtime: SandboxRuntime, interface: str
) -> None:
    with pytest.raises(AgentorError) as caught:
        runtime.load_bytes(_component_importing(interface), source="importer.wasm")
    assert caught.value.code == SandboxCode.IMPORT_REFUSED
    assert interface in caught.value.message
    assert runtime.list_tools() == ()


def test_the_import_allowlist_ignores_versions_only() -> None:
    assert refused_imports(["wasi:io/streams@0.2.9", "wasi:sockets/tcp@0.2.0"]) == []
    assert refused_imports(["wasi:http/types@0.2.0", "wasi:io/streamsx"]) == [
        "wasi:http/types@0.2.0",
        "wasi:io/streamsx",
    ]


def test_a_plain_component_is_called(runtime: SandboxRuntime) -> None:
    specs = runtime.load_bytes(_component_importing("wasi:random/random@0.2.0"), source="r.wasm")
    assert [s.name for s in specs] == ["g"]
    # wasmtime's linker has no wasi:random/random "f": instantiation fails with the usual code.
    assert code(runtime, "g") == SandboxCode.INSTANTIATE_FAILED


def test_the_reflector_is_found_through_agentor_core(generic_wasm: Path) -> None:
    reflector = create(ComponentReflector)
    reflection = reflector.reflect(generic_wasm.read_bytes(), source="generic.wasm")
    assert "divide" in {tool.name for tool in reflection.tools}
    assert [s.name for s in reflection.skipped] == ["exports.init"]


OPS_WAT = """(component
  (core module $m
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "loop") (loop $l br $l)))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (func $loop (canon lift (core func $i "loop")))
  (instance $ops (export "add" (func $add)) (export "loop" (func $loop)))
  (export "example:calc/ops@1.0.0" (instance $ops)))"""


def test_functions_inside_an_exported_instance(runtime: SandboxRuntime) -> None:
    specs = runtime.load_bytes(bytes(wasmtime.wat2wasm(OPS_WAT)), source="ops.wasm")
    assert sorted(s.name for s in specs) == ["ops.add", "ops.loop"]
    assert next(s for s in specs if s.name == "ops.loop").output_schema is None
    out = call(runtime, "ops.add", a=2, b=3)
    assert out.content[0].model_dump()["data"] == {"result": 5}
    assert code(runtime, "ops.add", a=-1, b=3) == SandboxCode.ARGUMENTS_INVALID
    # A small budget: the default (2e9) can outlast the 10 s deadline on a loaded machine.
    small = Capabilities.model_validate({"limits": {"fuel": 1_000_000}})
    assert code(runtime, "ops.loop", small) == SandboxCode.FUEL_EXHAUSTED
