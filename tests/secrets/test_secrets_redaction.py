# test values, not real credentials:
# ruff: noqa: S105
"""The Redactor: finding and scrubbing secret values in anything written down."""

from __future__ import annotations

import base64
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from agentor_secrets import MemorySecretStore, Redactor, redactor_for

VALUE = "s3cr3t/value+with=chars"


def test_finds_every_common_spelling() -> None:
    redactor = Redactor({"TOKEN": VALUE})
    for spelling in (
        VALUE,
        quote(VALUE, safe=""),
        base64.b64encode(VALUE.encode()).decode(),
        base64.urlsafe_b64encode(VALUE.encode()).decode(),
    ):
        assert redactor.find(f"before {spelling} after") == ["TOKEN"]
        assert redactor.find(f"before {spelling} after".encode()) == ["TOKEN"]
    assert redactor.find("nothing here") == []


def test_scrub_replaces_values_with_their_names() -> None:
    redactor = Redactor({"TOKEN": VALUE, "LONGER": VALUE + "-suffix"})
    text = f"a={VALUE} b={VALUE}-suffix"
    assert redactor.scrub(text) == "a=[redacted:TOKEN] b=[redacted:LONGER]"
    assert redactor.scrub_bytes(text.encode()) == b"a=[redacted:TOKEN] b=[redacted:LONGER]"


def test_short_values_are_not_scanned_and_repr_is_safe() -> None:
    redactor = Redactor({"PIN": "1234", "TOKEN": VALUE})
    assert redactor.names() == ["TOKEN"]
    assert VALUE not in repr(redactor)
    assert not Redactor()


def test_redactor_for_a_store() -> None:
    store = MemorySecretStore({"TOKEN": VALUE})
    assert redactor_for(store).find(f"x{VALUE}x") == ["TOKEN"]


@given(
    secret=st.text(min_size=6, max_size=40).filter(lambda s: "\x00" not in s),
    noise=st.text(max_size=200),
)
def test_scrubbed_text_never_holds_the_value(secret: str, noise: str) -> None:
    redactor = Redactor({"S": secret})
    scrubbed = redactor.scrub(noise + secret + noise)
    assert secret not in scrubbed or secret in "[redacted:S]"
