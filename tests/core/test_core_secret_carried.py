"""``SecretGrant.carried_in``: where the host's own client may carry a value itself."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentor_core.capabilities import SecretGrant


def test_nothing_is_carried_by_default() -> None:
    assert SecretGrant(name="api.token", audiences=("https://a.example",)).carried_in == frozenset()


def test_only_headers_bodies_and_responses_are_places() -> None:
    grant = SecretGrant.model_validate(
        {"name": "t", "audiences": ["https://a.example"], "carried_in": ["header", "response"]}
    )
    assert grant.carried_in == frozenset({"header", "response"})
    with pytest.raises(ValidationError):
        SecretGrant.model_validate({"name": "t", "carried_in": ["url"]})


def test_an_ipv6_literal_audience_is_written_in_brackets() -> None:
    assert SecretGrant(name="t", audiences=("http://[::1]",)).audiences == ("http://[::1]",)
    with pytest.raises(ValidationError):
        SecretGrant(name="t", audiences=("http://::1",))
