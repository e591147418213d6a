"""Grants are written by people in TOML or JSON: a wrong type is reported, never coerced."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agentor_core import Capabilities


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"limits": {"fuel": "100"}}, ("limits", "fuel")),
        ({"limits": {"deadline_ms": 1.5}}, ("limits", "deadline_ms")),
        ({"limits": {"http_requests": True}}, ("limits", "http_requests")),
        ({"filesystem": [{"guest_path": "/data", "write": "yes"}]}, ("filesystem", 0, "write")),
        ({"filesystem": [{"guest_path": "/data", "write": 1}]}, ("filesystem", 0, "write")),
        ({"network": [{"host": "example.com", "port": "443"}]}, ("network", 0, "port")),
    ],
)
def test_loose_types_in_a_grant_are_refused(
    document: dict[str, Any], field: tuple[Any, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        Capabilities.model_validate(document)
    assert caught.value.errors()[0]["loc"] == field


def test_exact_types_are_accepted_from_python_and_json() -> None:
    document = {"limits": {"fuel": 5}, "filesystem": [{"guest_path": "/a", "write": True}]}
    from_python = Capabilities.model_validate(document)
    from_json = Capabilities.model_validate_json(from_python.model_dump_json())
    assert from_python == from_json
    assert from_json.limits.fuel == 5
    assert from_json.filesystem[0].write is True
