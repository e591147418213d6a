"""A distribution can report parse failures under its own stable code, with the same checks."""

from __future__ import annotations

import pytest

from agentor_core import AgentorError, ToolSpec
from agentor_core.validation import parse_untrusted_json


def test_own_code_and_hint_for_invalid_documents() -> None:
    with pytest.raises(AgentorError) as caught:
        parse_untrusted_json(
            ToolSpec,
            b'{"name": "bad name!"}',
            max_bytes=1000,
            code="toolkit.manifest_invalid",
            hint="rebuild the tool",
        )
    assert caught.value.code == "toolkit.manifest_invalid"
    assert caught.value.hint == "rebuild the tool"
    assert "name" in caught.value.message


def test_own_code_for_oversized_documents() -> None:
    with pytest.raises(AgentorError) as caught:
        parse_untrusted_json(ToolSpec, b"{" + b" " * 100 + b"}", max_bytes=10, code="x.too_big")
    assert caught.value.code == "x.too_big"
    assert "exceeds the 10-byte limit" in caught.value.message
