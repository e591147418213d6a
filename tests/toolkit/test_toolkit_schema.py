"""Schema generation from type hints, and refusal of unsupported types naming the parameter."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional, TypedDict, Union

import pytest

from agentor_core.tools import ToolSpec
from agentor_toolkit.guest.schema import Field, SchemaError, schema_for
from agentor_toolkit.guest.tools import _build


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Point(TypedDict):
    x: int
    y: int


class Partial(TypedDict, total=False):
    note: str


@dataclass
class Box:
    label: str
    size: float = 1.0
    tags: list[str] = field(default_factory=list)


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (Any, {}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (dict[str, bool], {"type": "object", "additionalProperties": {"type": "boolean"}}),
        (Optional[str], {"anyOf": [{"type": "string"}, {"type": "null"}]}),  # noqa: UP045
        (Union[int, str], {"anyOf": [{"type": "integer"}, {"type": "string"}]}),  # noqa: UP007
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (Literal["a", "b", 3], {"enum": ["a", "b", 3]}),
        (Colour, {"type": "string", "enum": ["red", "green"]}),
        (Level, {"type": "integer", "enum": [1, 2]}),
        (Annotated[str, "a name"], {"type": "string", "description": "a name"}),
        (
            Annotated[int, Field(ge=1, le=9, description="n")],
            {"type": "integer", "minimum": 1, "maximum": 9, "description": "n"},
        ),
        (
            Annotated[float, Field(gt=0, lt=1)],
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        ),
        (
            Annotated[str, Field(min_length=2, max_length=5, pattern="^a")],
            {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^a"},
        ),
        (
            Annotated[list[str], Field(min_length=1, max_length=3)],
            {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        ),
    ],
)
def test_schema_for_each_supported_type(hint: object, expected: dict[str, Any]) -> None:
    assert schema_for(hint, "p") == expected


def test_typeddict_and_dataclass_schemas() -> None:
    assert schema_for(Point, "p") == {
        "type": "object",
        "title": "Point",
        "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
        "required": ["x", "y"],
        "additionalProperties": False,
    }
    assert schema_for(Partial, "p")["required"] == []
    box = schema_for(Box, "p")
    assert box["required"] == ["label"]
    assert box["properties"]["size"] == {"type": "number", "default": 1.0}
    assert box["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}


class Opaque:
    pass


class Mixed(enum.Enum):
    A = "a"
    B = 2


@pytest.mark.parametrize(
    ("hint", "fragment"),
    [
        (set[int], "set"),
        (bytes, "bytes"),
        (Opaque, "Opaque"),
        (tuple[int, int], "tuple"),
        (dict[int, str], "dict[str, T]"),
        (list, "say what the list holds"),
        (Mixed, "only str or only int"),
        (Literal[1.5], "Literal values"),
    ],
)
def test_unsupported_types_are_refused_naming_the_parameter(hint: object, fragment: str) -> None:
    with pytest.raises(SchemaError, match="parameter 'thing'") as caught:
        _build(_func_with(hint), None, None, {})
    assert fragment in str(caught.value)


def _func_with(hint: object) -> Any:
    def tool_function(thing: Any) -> None:
        """Takes a thing."""

    tool_function.__annotations__ = {"thing": hint, "return": None}
    return tool_function


def test_tool_spec_from_function_validates_as_core_toolspec() -> None:
    def search(
        query: Annotated[str, Field(min_length=1)],
        limit: int = 10,
        colour: Colour = Colour.RED,
    ) -> list[Box]:
        """Search boxes.

        Args:
            query: What to look for.
            limit: At most this many.
        """
        return []

    built = _build(search, None, "Search", {"read_only": True})
    spec = ToolSpec.model_validate(built.spec())
    assert spec.description == "Search boxes."
    assert spec.title == "Search"
    assert spec.annotations.read_only is True
    props = spec.input_schema["properties"]
    assert props["query"]["description"] == "What to look for."
    assert props["limit"] == {"type": "integer", "default": 10, "description": "At most this many."}
    assert props["colour"]["default"] == "red"
    assert spec.input_schema["required"] == ["query"]
    assert spec.input_schema["additionalProperties"] is False
    # Non-object results are wrapped as {"result": ...}, so MCP structured output is an object.
    assert spec.output_schema is not None
    assert spec.output_schema["properties"]["result"]["type"] == "array"
    assert built.wraps_result


def test_missing_hints_and_var_args_are_refused() -> None:
    def no_hint(x) -> int:  # type: ignore[no-untyped-def]
        return 1

    def no_return(x: int):  # type: ignore[no-untyped-def]
        return x

    def star(*xs: int) -> int:
        return 0

    with pytest.raises(SchemaError, match="parameter 'x': add a type hint"):
        _build(no_hint, None, None, {})
    with pytest.raises(SchemaError, match="add a return type hint"):
        _build(no_return, None, None, {})
    with pytest.raises(SchemaError, match="named parameters only"):
        _build(star, None, None, {})
    with pytest.raises(SchemaError, match="tool name"):
        _build(star, "bad name!", None, {})


def test_default_without_json_form_is_refused() -> None:
    def f(x: float = float("nan"), y: Box | None = None) -> None:
        return None

    f.__defaults__ = (object(), None)
    with pytest.raises(SchemaError, match="parameter 'x': default has no JSON form"):
        _build(f, None, None, {})
