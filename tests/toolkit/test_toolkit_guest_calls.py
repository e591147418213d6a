"""The guest's describe/call dispatch, run under CPython: validation in the guest, error codes."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

import pytest

from agentor_toolkit.guest import (
    Field,
    HostUnavailable,
    ToolFailure,
    declare,
    dispatch,
    http,
    log,
    tool,
)
from agentor_toolkit.guest.tools import REGISTRY


@pytest.fixture
def registry() -> Iterator[None]:
    saved_tools, saved_declared = dict(REGISTRY.tools), dict(REGISTRY.declared)
    REGISTRY.tools.clear()
    REGISTRY.declared.clear()
    yield
    REGISTRY.tools.clear()
    REGISTRY.tools.update(saved_tools)
    REGISTRY.declared.clear()
    REGISTRY.declared.update(saved_declared)


class Unit(Enum):
    CM = "cm"
    IN = "in"


@dataclass
class Size:
    value: float
    unit: Unit


def _define() -> None:
    @tool(read_only=True)
    def convert(size: Size, to: Unit) -> Size:
        """Convert a length."""
        factor = {Unit.CM: 1.0, Unit.IN: 2.54}
        return Size(size.value * factor[size.unit] / factor[to], to)

    @tool
    def scale(values: list[Annotated[int, Field(ge=0)]], by: int = 2) -> list[int]:
        """Scale values."""
        return [v * by for v in values]

    @tool(name="fail")
    def failing(kind: str) -> None:
        """Fail on purpose."""
        if kind == "tool":
            raise ToolFailure("not_found", "nothing there")
        if kind == "bug":
            raise KeyError(kind)

    @tool
    def nan() -> float:
        """Return NaN."""
        return math.nan


def _call(name: str, args: Any) -> Any:
    return json.loads(dispatch.call(name, json.dumps(args)))


def test_calls_convert_arguments_and_results(registry: None) -> None:
    _define()
    out = _call("convert", {"size": {"value": 2.54, "unit": "cm"}, "to": "in"})
    assert out == {"value": 1.0, "unit": "in"}
    assert _call("scale", {"values": [1, 2]}) == {"result": [2, 4]}
    assert _call("fail", {"kind": "none"}) is None


@pytest.mark.parametrize(
    ("name", "args", "code", "message"),
    [
        ("scale", {"values": [1, -1]}, "invalid_arguments", "values[1]: must be >= 0"),
        ("scale", {"values": "x"}, "invalid_arguments", "values: expected array, got string"),
        ("scale", {}, "invalid_arguments", "values: required field is missing"),
        ("scale", {"values": [], "extra": 1}, "invalid_arguments", "extra: unknown field"),
        ("scale", {"values": [True]}, "invalid_arguments", "values[0]: expected integer"),
        (
            "convert",
            {"size": {"value": 1, "unit": "mm"}, "to": "cm"},
            "invalid_arguments",
            "size.unit: must be one of",
        ),
        ("fail", {"kind": "tool"}, "not_found", "nothing there"),
        ("fail", {"kind": "bug"}, "tool_failed", "KeyError"),
        ("nan", {}, "invalid_result", "NaN"),
        ("nope", {}, "unknown_tool", "no tool named"),
    ],
)
def test_failures_carry_stable_codes(
    registry: None, name: str, args: Any, code: str, message: str
) -> None:
    _define()
    with pytest.raises(dispatch.Failure) as caught:
        dispatch.call(name, json.dumps(args))
    assert caught.value.code == code
    assert message in caught.value.message


def test_malformed_argument_json(registry: None) -> None:
    _define()
    for raw in ("{", "[1]"):
        with pytest.raises(dispatch.Failure) as caught:
            dispatch.call("scale", raw)
        assert caught.value.code == "invalid_arguments"


def test_describe_merges_tool_toml_over_declared(registry: None) -> None:
    _define()
    declare(name="declared", version="9.9.9", requests={"env": [{"name": "HOME"}]})
    manifest = json.loads(dispatch.describe(json.dumps({"version": "1.0.0", "default_name": "m"})))
    assert manifest["name"] == "declared"
    assert manifest["version"] == "1.0.0"
    assert manifest["requests"] == {"env": [{"name": "HOME"}]}
    assert [t["name"] for t in manifest["tools"]] == ["convert", "fail", "nan", "scale"]
    with pytest.raises(Exception, match="defined twice"):
        _define()


def test_host_helpers_outside_a_component_say_so() -> None:
    with pytest.raises(HostUnavailable, match="inside a built component"):
        http("GET", "https://example.com")
    with pytest.raises(HostUnavailable):
        log("hello")


def test_tool_codes_follow_the_contract(registry: None) -> None:
    @tool
    def odd(code: str) -> None:
        """Fail with any code."""
        raise ToolFailure(code, "failed")

    for given, expected in (
        ("egress.destination_denied", "egress_destination_denied"),
        ("Not Found!", "not_found"),
        ("42", "tool_failed"),
        ("", "tool_failed"),
    ):
        with pytest.raises(dispatch.Failure) as caught:
            dispatch.call("odd", json.dumps({"code": given}))
        assert caught.value.code == expected
