"""Generic components: exported WIT functions become tools with schemas from their WIT types.

The toolkit reflects through agentor-sandbox's ComponentReflector, so this runs with both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import wasmtime

from agentor_core.errors import AgentorError
from agentor_sandbox.witjson import MAX_SAFE
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.inspection import inspect_component
from agentor_toolkit.reflect import reflect_bytes, reflect_component

FIXTURES = Path(__file__).parent.parent / "toolkit" / "fixtures"


def _component(name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(bytes(wasmtime.wat2wasm((FIXTURES / f"{name}.wat").read_text())))
    return path


@pytest.fixture
def generic(tmp_path: Path) -> dict[str, Any]:
    manifest = reflect_component(_component("generic", tmp_path))
    assert manifest.name == "generic"
    return {tool.name: tool for tool in manifest.tools}


def _param(tools: dict[str, Any], tool: str, param: str) -> Any:
    return tools[tool].input_schema["properties"][param]


def _result(tools: dict[str, Any], tool: str) -> Any:
    return tools[tool].output_schema["properties"]["result"]


def test_every_function_export_is_a_tool(generic: dict[str, Any]) -> None:
    assert sorted(generic) == ["area", "check", "dist", "greet", "origin", "paint", "total"]
    assert generic["paint"].input_schema["required"] == ["c", "p"]
    assert generic["paint"].input_schema["additionalProperties"] is False


def test_record_and_integers(generic: dict[str, Any]) -> None:
    point = _param(generic, "dist", "p")
    assert point["type"] == "object"
    assert point["required"] == ["x", "y"]
    assert point["properties"]["x"] == {
        "type": "integer",
        "minimum": -(2**31),
        "maximum": 2**31 - 1,
    }
    assert _result(generic, "dist") == {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
    # 64-bit integers are bounded to what a JSON number holds exactly.
    assert _result(generic, "total")["maximum"] == MAX_SAFE


def test_enum_flags_option_char(generic: dict[str, Any]) -> None:
    assert _param(generic, "paint", "c") == {"type": "string", "enum": ["red", "green", "blue"]}
    assert _param(generic, "paint", "p") == {
        "type": "array",
        "items": {"enum": ["read", "write"]},
        "uniqueItems": True,
    }
    assert _param(generic, "greet", "name") == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert _result(generic, "greet") == {"type": "string", "minLength": 1, "maxLength": 1}
    assert _result(generic, "paint") == {"type": "boolean"}


def test_variant_result_list_tuple(generic: dict[str, Any]) -> None:
    shape = _param(generic, "area", "s")["oneOf"]
    assert shape[0]["properties"] == {"circle": {"type": "number"}}
    assert shape[2] == {"const": "empty"}
    check = _param(generic, "check", "r")["oneOf"]
    assert [sorted(c["properties"]) for c in check] == [["ok"], ["err"]]
    assert check[1]["properties"]["err"] == {"type": "string"}
    assert _param(generic, "total", "items")["items"]["type"] == "object"
    origin = _result(generic, "origin")
    assert origin["minItems"] == origin["maxItems"] == 2
    assert origin["items"] is False
    assert generic["origin"].input_schema["properties"] == {}


def test_instances_and_resources(tmp_path: Path) -> None:
    data = _component("generic_instance", tmp_path).read_bytes()
    reflected = reflect_bytes(data)
    assert [tool.name for tool in reflected.tools] == ["math.add"]
    assert [s.name for s in reflected.skipped] == ["close"]
    assert "resource has no JSON form" in reflected.skipped[0].reason


def test_core_modules_and_garbage_are_refused(tmp_path: Path) -> None:
    module = wasmtime.wat2wasm("(module)")
    with pytest.raises(AgentorError) as caught:
        reflect_bytes(bytes(module))
    assert caught.value.code == ToolkitCode.COMPONENT_INVALID
    with pytest.raises(AgentorError) as caught:
        reflect_bytes(b"\x00asm\x0d\x00\x01\x00\x7f\x00")
    assert caught.value.code == ToolkitCode.COMPONENT_INVALID


def test_inspect_reflects_a_generic_component(tmp_path: Path) -> None:
    found = inspect_component(_component("generic", tmp_path))
    assert found.manifest_error == ToolkitCode.MANIFEST_MISSING
    assert found.manifest is not None
    assert found.reflected
    assert "dist" in found.exports
