"""The fast canonical encoder gives exactly agentor_core's RFC 8785 bytes, or refuses alike."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentor_audit.records import canonical_bytes
from agentor_core.canonical import CanonicalizationError, canonical_json
from agentor_core.errors import AgentorError

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_fast_path_equals_reference(value: object) -> None:
    try:
        expected = canonical_json(value)
    except CanonicalizationError:
        with pytest.raises(AgentorError):
            canonical_bytes(value)
        return
    assert canonical_bytes(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"\ue000": 1, "\U0001f600": 2},  # UTF-16 order differs from code point order
        {"a": 1e21, "b": 0.1, "c": -0.0},
        {"n": 2**53 - 1},
        ["\u2028", "\x1f", '"\\'],
    ],
)
def test_known_differences_are_routed_to_the_reference(value: object) -> None:
    assert canonical_bytes(value) == canonical_json(value)
