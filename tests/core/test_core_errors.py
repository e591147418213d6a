"""AgentorError and ToolError: stable codes, bounded messages, never a failure to build."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from agentor_core import AgentorError, CoreCode, ToolError
from agentor_core.errors import CODE_PATTERN


def test_code_message_hint() -> None:
    error = AgentorError("sandbox.fuel_exhausted", "the tool ran out of fuel", hint="raise fuel")
    assert error.code == "sandbox.fuel_exhausted"
    assert error.message == "the tool ran out of fuel"
    assert error.hint == "raise fuel"
    assert error.error == ToolError(
        code="sandbox.fuel_exhausted", message="the tool ran out of fuel", hint="raise fuel"
    )
    assert str(error) == "[sandbox.fuel_exhausted] the tool ran out of fuel"
    assert isinstance(error, Exception)


def test_hint_optional() -> None:
    assert AgentorError("a.b", "m").hint is None
    assert AgentorError("a.b", "m", hint="").hint is None


def test_core_codes_are_valid_and_stable() -> None:
    assert {code.value for code in CoreCode} == {
        "core.invalid_input",
        "core.implementation_missing",
        "core.implementation_ambiguous",
        "core.implementation_broken",
        "core.unknown_tool",
    }
    for code in CoreCode:
        assert re.fullmatch(CODE_PATTERN, code)
        assert AgentorError(code, "m").code == code


@pytest.mark.parametrize(
    "code",
    [
        "",
        "nodot",
        "Core.invalid",
        "core.Invalid",
        ".core",
        "core.",
        "core..x",
        "1core.x",
        "core.1x",
        "core-x.y",
        "core.x\n",
        "core.x ",
        "core x.y",
        "a." + "b" * 95,
        "\x1b[31mcore.x",
    ],
)
def test_malformed_code_becomes_invalid_input(code: str) -> None:
    error = AgentorError(code, "original message", hint="the hint")
    assert error.code == CoreCode.INVALID_INPUT
    assert error.message.startswith("original message (malformed error code ")
    assert repr(code[:64]) in error.message
    assert error.hint == "the hint"


def test_longest_valid_code_kept() -> None:
    code = "a." + "b" * 94
    assert len(code) == 96
    assert AgentorError(code, "m").code == code


def test_long_message_and_hint_truncated() -> None:
    error = AgentorError("x.y", "m" * 100_000, hint="h" * 100_000)
    assert error.message == "m" * 4096
    assert error.hint == "h" * 1024
    malformed = AgentorError("BAD", "m" * 100_000, hint="h" * 5000)
    assert malformed.code == CoreCode.INVALID_INPUT
    assert len(malformed.message) == 4096


def test_empty_message_replaced_by_code() -> None:
    assert AgentorError("x.y", "").message == "x.y"


def test_raise_and_catch() -> None:
    with pytest.raises(AgentorError, match=r"\[policy\.denied\] no rule allows it") as info:
        raise AgentorError("policy.denied", "no rule allows it")
    assert info.value.code == "policy.denied"


@pytest.mark.parametrize(
    "data",
    [
        {"code": "nodot", "message": "m"},
        {"code": "a.b", "message": ""},
        {"code": "a.b", "message": "m" * 4097},
        {"code": "a.b", "message": "m", "hint": "h" * 1025},
        {"code": "a.b", "message": "m", "extra": 1},
    ],
)
def test_tool_error_validation(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ToolError.model_validate(data)
