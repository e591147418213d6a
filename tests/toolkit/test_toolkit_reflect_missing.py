"""Without a component reflector installed, reflection fails with an actionable code."""

from __future__ import annotations

from typing import Any

import pytest

from agentor_core.errors import AgentorError, CoreCode
from agentor_toolkit import reflect
from agentor_toolkit.errors import ToolkitCode

EMPTY_COMPONENT = b"\x00asm\x0d\x00\x01\x00"


def _missing(*_args: Any, **_kwargs: Any) -> Any:
    raise AgentorError(CoreCode.IMPLEMENTATION_MISSING, "no ComponentReflector is installed")


def test_no_reflector_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reflect, "create", _missing)
    with pytest.raises(AgentorError) as caught:
        reflect.reflect_bytes(EMPTY_COMPONENT)
    assert caught.value.code == ToolkitCode.REFLECTION_UNAVAILABLE
    assert "agentor-toolkit[components]" in (caught.value.error.hint or "")


def test_a_core_module_is_refused_before_any_reflector() -> None:
    with pytest.raises(AgentorError) as caught:
        reflect.reflect_bytes(b"\x00asm\x01\x00\x00\x00")
    assert caught.value.code == ToolkitCode.COMPONENT_INVALID
