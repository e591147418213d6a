"""Size bounds on everything that may come from outside the host."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from agentor_core import (
    AgentorError,
    CoreCode,
    JsonContent,
    TextContent,
    ToolCall,
    ToolResult,
    ToolSpec,
)
from agentor_core.bounds import (
    MAX_CONTENT_BLOCKS,
    MAX_DESCRIPTION_CHARS,
    MAX_JSON_DEPTH,
    MAX_JSON_KEY_CHARS,
    MAX_JSON_NODES,
    MAX_JSON_STRING_CHARS,
    MAX_JSON_TOTAL_CHARS,
    MAX_NAME_CHARS,
    JsonBoundsError,
    check_json,
)
from agentor_core.canonical import canonical_json
from agentor_core.validation import parse_untrusted, parse_untrusted_json


def nest(depth: int) -> list[Any]:
    """A list nested ``depth`` levels deep (``[]`` is one level), built without recursion."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def nest_objects(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_limits_are_the_documented_ones() -> None:
    assert MAX_NAME_CHARS == 128
    assert MAX_DESCRIPTION_CHARS == 16 * 1024
    assert MAX_CONTENT_BLOCKS == 256
    assert MAX_JSON_DEPTH == 64
    assert MAX_JSON_NODES == 100_000
    assert MAX_JSON_STRING_CHARS == 1024 * 1024


# --- names and descriptions ------------------------------------------------------------


def test_name_length_bound() -> None:
    assert ToolSpec(name="n" * 128).name == "n" * 128
    with pytest.raises(ValidationError, match="name"):
        ToolSpec(name="n" * 129)
    with pytest.raises(ValidationError, match="tool"):
        ToolCall(id="c", tool="n" * 129)
    with pytest.raises(ValidationError, match="name"):
        ToolSpec(name="")


@pytest.mark.parametrize(
    "name",
    ["a b", "-lead", ".lead", "a/b", "a:b", "caf\u00e9", "tab\t", "new\nline", "a\x00", "$x"],
)
def test_name_characters(name: str) -> None:
    with pytest.raises(ValidationError, match="name"):
        ToolSpec(name=name)
    with pytest.raises(AgentorError) as info:
        parse_untrusted(ToolCall, {"id": "c", "tool": name})
    assert info.value.code == CoreCode.INVALID_INPUT
    assert "tool:" in info.value.message


@pytest.mark.parametrize("name", ["a", "_x", "0", "fs.read_file", "my-tool.v2", "A_b-C.d"])
def test_name_characters_accepted(name: str) -> None:
    assert ToolSpec(name=name).name == name


def test_description_bound() -> None:
    assert len(ToolSpec(name="t", description="d" * MAX_DESCRIPTION_CHARS).description) == 16384
    with pytest.raises(ValidationError, match="description"):
        ToolSpec(name="t", description="d" * (MAX_DESCRIPTION_CHARS + 1))


def test_title_and_id_bounds() -> None:
    with pytest.raises(ValidationError, match="title"):
        ToolSpec(name="t", title="x" * 257)
    with pytest.raises(ValidationError, match="id"):
        ToolCall(id="x" * 129, tool="t")
    with pytest.raises(ValidationError, match="id"):
        ToolCall(id="", tool="t")


def test_content_block_count_bound() -> None:
    blocks = [TextContent(text=str(i)) for i in range(MAX_CONTENT_BLOCKS)]
    assert len(ToolResult(call_id="c", content=blocks).content) == 256
    with pytest.raises(ValidationError, match="content"):
        ToolResult(call_id="c", content=[*blocks, TextContent(text="one too many")])
    data = {"call_id": "c", "content": [{"type": "text", "text": "x"}] * 257}
    with pytest.raises(AgentorError) as info:
        parse_untrusted(ToolResult, data)
    assert "content:" in info.value.message


# --- check_json ------------------------------------------------------------------------


def test_depth_bound_lists() -> None:
    assert check_json(nest(MAX_JSON_DEPTH)) == nest(64)
    with pytest.raises(JsonBoundsError, match="deeper than 64"):
        check_json(nest(MAX_JSON_DEPTH + 1))


def test_depth_bound_objects() -> None:
    check_json(nest_objects(64))
    with pytest.raises(JsonBoundsError, match="deeper"):
        check_json(nest_objects(65))


def test_depth_counts_scalars() -> None:
    # A scalar inside 64 lists sits at depth 65.
    value: Any = 1
    for _ in range(64):
        value = [value]
    with pytest.raises(JsonBoundsError, match="deeper"):
        check_json(value)


def test_depth_bound_through_models() -> None:
    # The arguments object is level 1, so its value may have 63 more.
    assert ToolCall(id="c", tool="t", arguments={"a": nest(63)}).arguments["a"] == nest(63)
    with pytest.raises(ValidationError, match="deeper"):
        ToolCall(id="c", tool="t", arguments={"a": nest(64)})
    JsonContent(data=nest(64))
    with pytest.raises(ValidationError, match="deeper"):
        JsonContent(data=nest(65))
    with pytest.raises(ValidationError, match="deeper"):
        ToolSpec(name="t", input_schema={"type": "object", "properties": nest_objects(64)})


def test_very_deep_document_rejected_without_recursion_error() -> None:
    deep = nest(100_000)
    with pytest.raises(JsonBoundsError):
        check_json(deep)
    with pytest.raises(ValidationError):
        JsonContent(data=deep)
    with pytest.raises(AgentorError) as info:
        parse_untrusted(ToolCall, {"id": "c", "tool": "t", "arguments": {"deep": deep}})
    assert info.value.code == CoreCode.INVALID_INPUT
    assert "arguments:" in info.value.message
    text = '{"id": "c", "tool": "t", "arguments": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    with pytest.raises(AgentorError) as info:
        parse_untrusted_json(ToolCall, text, max_bytes=len(text))
    assert info.value.code == CoreCode.INVALID_INPUT
    deep_objects = nest_objects(100_000)
    with pytest.raises(JsonBoundsError):
        check_json(deep_objects)


def test_node_bound() -> None:
    # The list itself is one node.
    assert len(check_json([0] * (MAX_JSON_NODES - 1))) == 99_999
    with pytest.raises(JsonBoundsError, match="more than 100000 nodes"):
        check_json([0] * MAX_JSON_NODES)
    with pytest.raises(JsonBoundsError, match="nodes"):
        check_json({str(i): None for i in range(MAX_JSON_NODES)})
    with pytest.raises(ValidationError, match="nodes"):
        JsonContent(data=[None] * MAX_JSON_NODES)


def test_string_bound() -> None:
    assert check_json("x" * MAX_JSON_STRING_CHARS)
    with pytest.raises(JsonBoundsError, match="string longer"):
        check_json("x" * (MAX_JSON_STRING_CHARS + 1))
    with pytest.raises(JsonBoundsError, match="string longer"):
        check_json({"a": ["x" * (MAX_JSON_STRING_CHARS + 1)]})
    with pytest.raises(ValidationError, match="string longer"):
        ToolCall(id="c", tool="t", arguments={"a": "x" * (MAX_JSON_STRING_CHARS + 1)})


def test_key_bound() -> None:
    check_json({"k" * MAX_JSON_KEY_CHARS: 1})
    with pytest.raises(JsonBoundsError, match="key longer"):
        check_json({"k" * (MAX_JSON_KEY_CHARS + 1): 1})


def test_total_size_bound() -> None:
    chunk = "x" * MAX_JSON_STRING_CHARS
    check_json([chunk] * 7)
    count = MAX_JSON_TOTAL_CHARS // MAX_JSON_STRING_CHARS + 1
    with pytest.raises(JsonBoundsError, match="larger than"):
        check_json([chunk] * count)


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers(number: float) -> None:
    with pytest.raises(JsonBoundsError, match="finite"):
        check_json(number)
    with pytest.raises(JsonBoundsError, match="finite"):
        check_json({"a": [1, number]})
    with pytest.raises(ValidationError, match="finite"):
        JsonContent(data=number)
    with pytest.raises(ValidationError, match="finite"):
        ToolCall(id="c", tool="t", arguments={"x": number})


def test_non_finite_numbers_in_json_text() -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(AgentorError) as info:
            parse_untrusted_json(
                ToolCall,
                '{"id": "c", "tool": "t", "arguments": {"x": ' + literal + "}}",
                max_bytes=999,
            )
        assert info.value.code == CoreCode.INVALID_INPUT


@pytest.mark.parametrize("key", [1, 1.5, None, True, ("t",)])
def test_non_string_keys(key: object) -> None:
    with pytest.raises(JsonBoundsError, match="keys must be strings"):
        check_json({"ok": {key: 1}})
    with pytest.raises(ValidationError):
        JsonContent(data={key: 1})


@pytest.mark.parametrize(
    "value", [{1, 2}, frozenset(), object(), b"bytes", bytearray(b"x"), 1j, ValueError("e")]
)
def test_non_json_types(value: object) -> None:
    with pytest.raises(JsonBoundsError, match="is not a JSON type"):
        check_json(value)
    with pytest.raises(JsonBoundsError, match="is not a JSON type"):
        check_json({"a": [value]})
    with pytest.raises(ValidationError, match="not a JSON type"):
        JsonContent(data={"a": value})
    with pytest.raises(ValidationError, match="not a JSON type"):
        ToolCall(id="c", tool="t", arguments={"a": value})


def test_check_json_returns_value_unchanged() -> None:
    value = {"a": [1, 2.5, "s", None, True, {"b": []}], "c": (1, 2)}
    assert check_json(value) is value


def test_canonical_json_of_deep_value_is_iterative() -> None:
    # canonical_json has no depth bound of its own, and must not use the Python stack.
    assert canonical_json(nest(100_000)) == b"[" * 100_000 + b"]" * 100_000
    assert json.loads(canonical_json(nest_objects(3))) == {"k": {"k": {}}}


def test_validation_message_quotes_no_hostile_key() -> None:
    # Dict keys are input too: pydantic puts them in the error location.
    key = "\x1b[2J" + "k" * 100_000
    with pytest.raises(AgentorError) as info:
        parse_untrusted(ToolCall, {"id": "c", "tool": "t", "labels": {key: {}}})
    message = info.value.message
    assert "labels" in message
    assert "\x1b" not in message
    assert len(message) < 2_000
