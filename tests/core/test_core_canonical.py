"""RFC 8785 (JSON Canonicalization Scheme) conformance of canonical_json."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentor_core.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalizationError,
    canonical_json,
    sha256_hex,
)

SETTINGS = settings(database=None, deadline=None, max_examples=200)


def text(value: Any) -> str:
    return canonical_json(value).decode("utf-8")


def from_bits(bits: int) -> float:
    return struct.unpack(">d", bits.to_bytes(8, "big"))[0]


def test_rfc8785_section_3_2_2_example() -> None:
    source = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert text(json.loads(source)) == expected


def test_rfc8785_section_3_2_3_key_order() -> None:
    # Sorted by UTF-16 code units: U+1F600 is the surrogate pair D83D DE00, below U+FB33.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonical_json(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert canonical_json(value).startswith(b'{"\\r":"Carriage Return","1":"One","\xc2\x80"')
    # A code-point sort would put U+1F600 last; UTF-16 puts it before U+FB33.
    assert sorted(value) != keys


def test_nested_keys_sorted_and_no_whitespace() -> None:
    value = {"b": {"z": 1, "a": [3, {"y": None, "x": True}]}, "a": []}
    assert text(value) == '{"a":[],"b":{"a":[3,{"x":true,"y":null}],"z":1}}'
    assert text({}) == "{}"
    assert text([]) == "[]"
    assert text([[], {}]) == "[[],{}]"
    assert text((1, "a")) == '[1,"a"]'


# RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript string forms.
APPENDIX_B = [
    (0x0000000000000000, "0"),
    (0x8000000000000000, "0"),
    (0x0000000000000001, "5e-324"),
    (0x8000000000000001, "-5e-324"),
    (0x7FEFFFFFFFFFFFFF, "1.7976931348623157e+308"),
    (0xFFEFFFFFFFFFFFFF, "-1.7976931348623157e+308"),
    (0x4340000000000000, "9007199254740992"),
    (0xC340000000000000, "-9007199254740992"),
    (0x4430000000000000, "295147905179352830000"),
    (0x44B52D02C7E14AF5, "9.999999999999997e+22"),
    (0x44B52D02C7E14AF6, "1e+23"),
    (0x44B52D02C7E14AF7, "1.0000000000000001e+23"),
    (0x444B1AE4D6E2EF4E, "999999999999999700000"),
    (0x444B1AE4D6E2EF4F, "999999999999999900000"),
    (0x444B1AE4D6E2EF50, "1e+21"),
    (0x3EB0C6F7A0B5ED8C, "9.999999999999997e-7"),
    (0x3EB0C6F7A0B5ED8D, "0.000001"),
    (0x41B3DE4355555553, "333333333.3333332"),
    (0x41B3DE4355555554, "333333333.33333325"),
    (0x41B3DE4355555555, "333333333.3333333"),
    (0x41B3DE4355555556, "333333333.3333334"),
    (0x41B3DE4355555557, "333333333.33333343"),
    (0xBECBF647612F3696, "-0.0000033333333333333333"),
    (0x43143FF3C1CB0959, "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B, ids=[e for _, e in APPENDIX_B])
def test_rfc8785_appendix_b_numbers(bits: int, expected: str) -> None:
    assert text(from_bits(bits)) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (0, "0"),
        (0.0, "0"),
        (-0.0, "0"),
        (1, "1"),
        (-1, "-1"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (2e-6, "0.000002"),
        (1.5e-7, "1.5e-7"),
        (123.0, "123"),
        (0.1, "0.1"),
        (4.5, "4.5"),
        (-4.5, "-4.5"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (333333333.33333329, "333333333.3333333"),
        (1e30, "1e+30"),
        (123456789012345680000.0, "123456789012345680000"),
        (1.2345678901234568e21, "1.2345678901234568e+21"),
        (0.000123, "0.000123"),
        (100.0, "100"),
        (10.5, "10.5"),
        (MAX_SAFE_INTEGER, "9007199254740991"),
        (-MAX_SAFE_INTEGER, "-9007199254740991"),
        (2.0**53, "9007199254740992"),
    ],
)
def test_number_formatting(number: float, expected: str) -> None:
    assert text(number) == expected
    assert text([number]) == f"[{expected}]"


def test_booleans_and_null_are_not_numbers() -> None:
    assert text([True, False, None, 1, 0]) == "[true,false,null,1,0]"


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_refused(number: float) -> None:
    with pytest.raises(CanonicalizationError, match="NaN and Infinity"):
        canonical_json(number)
    with pytest.raises(CanonicalizationError):
        canonical_json({"a": [number]})


@pytest.mark.parametrize("number", [2**53, -(2**53), 2**64, 10**100])
def test_unsafe_integers_refused(number: int) -> None:
    with pytest.raises(CanonicalizationError, match="safe range"):
        canonical_json(number)
    with pytest.raises(CanonicalizationError):
        canonical_json({"n": number})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", '""'),
        ("\b\f\n\r\t", '"\\b\\f\\n\\r\\t"'),
        ("\x00\x01\x1f", '"\\u0000\\u0001\\u001f"'),
        ("\x0b\x0e\x1a", '"\\u000b\\u000e\\u001a"'),
        ('"\\', '"\\"\\\\"'),
        ("/", '"/"'),
        ("\x7f", '"\x7f"'),
        ("\u00e9\u20ac\U0001f600", '"\u00e9\u20ac\U0001f600"'),
        ("\u2028\u2029", '"\u2028\u2029"'),
    ],
)
def test_string_escaping(value: str, expected: str) -> None:
    assert text(value) == expected
    assert text({value: value}) == "{" + expected + ":" + expected + "}"


def test_non_ascii_is_literal_utf8() -> None:
    assert canonical_json("\u00f6\u20ac\U0001f600") == '"\u00f6\u20ac\U0001f600"'.encode()
    assert canonical_json("\u00f6") == b'"\xc3\xb6"'


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", {"\ud83d": 1}, ["ok", "\udc00"]])
def test_lone_surrogates_refused(value: object) -> None:
    with pytest.raises(CanonicalizationError, match="surrogate"):
        canonical_json(value)


@pytest.mark.parametrize(
    "value",
    [{1, 2}, frozenset(), object(), b"x", bytearray(), 1j, {"a": {1: 2}}, {1: "a"}, {None: 1}],
)
def test_non_json_types_refused(value: object) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json(value)


def test_sha256_hex() -> None:
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256_hex(canonical_json({"b": 1, "a": 2})) == sha256_hex(b'{"a":2,"b":1}')


# --- properties ------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    # Integral floats beyond 2**53 print as integer digits (as in ECMAScript) and
    # json.loads reads those back as int; test_numbers_round_trip_exactly covers them.
    | st.floats(
        allow_nan=False,
        allow_infinity=False,
        min_value=-float(MAX_SAFE_INTEGER),
        max_value=float(MAX_SAFE_INTEGER),
    )
    | st.text(st.characters(exclude_categories=["Cs"]))
)
keys = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)


@SETTINGS
@given(json_values)
def test_canonical_json_parses_back_to_the_same_value(value: Any) -> None:
    encoded = canonical_json(value)
    assert json.loads(encoded) == value
    # Canonical: encoding the parsed value again gives the same bytes.
    assert canonical_json(json.loads(encoded)) == encoded


@SETTINGS
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_exactly(number: float) -> None:
    assert float(json.loads(canonical_json(number))) == number


@SETTINGS
@given(st.dictionaries(keys, json_values, max_size=8), st.randoms(use_true_random=False))
def test_invariant_under_key_reordering(value: dict[str, Any], rng: Any) -> None:
    items = list(value.items())
    rng.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(value)
    assert canonical_json({"outer": dict(items)}) == canonical_json({"outer": value})
