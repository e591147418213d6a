"""RFC 8785 JSON Canonicalization Scheme (JCS) and the digests built on it.

Fingerprints of calls, policy hashes and audit leaves must be the same bytes on
every machine and in every language, so they are computed over JCS, not over
``json.dumps`` (whose float and key ordering rules differ from RFC 8785's).
"""

from __future__ import annotations

import hashlib
import json
import math
from decimal import Decimal
from typing import Any, Final

MAX_SAFE_INTEGER: Final = 2**53 - 1

_escape = json.JSONEncoder(ensure_ascii=False).encode


class CanonicalizationError(ValueError):
    """A value has no RFC 8785 form (NaN, a huge integer, a lone surrogate, a non-JSON type)."""


def _number(value: int | float) -> str:
    if isinstance(value, int):
        # I-JSON numbers are IEEE doubles; a larger integer would change value
        # silently on the way through another implementation.
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalizationError(f"integer {value} is outside the I-JSON safe range")
        return str(value)
    if not math.isfinite(value):
        raise CanonicalizationError("NaN and Infinity have no JSON form")
    if value == 0:
        return "0"
    # repr() gives the shortest digits that round-trip, as ECMAScript requires;
    # only the placement of the point and exponent differs, done below.
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    if not isinstance(exponent, int):  # pragma: no cover - finite Decimals have int exponents
        raise CanonicalizationError(f"{value!r} has no finite decimal form")
    k = len(digits)
    n = exponent + len(digit_tuple)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"
    return ("-" if sign else "") + text


def _string(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalizationError("string holds a lone surrogate") from None
    return _escape(value)


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` per RFC 8785 and return UTF-8 bytes."""
    out: list[str] = []
    # An explicit stack instead of recursion: values here may be hostile.
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            out.append(item.text)
        elif item is None:
            out.append("null")
        elif item is True:
            out.append("true")
        elif item is False:
            out.append("false")
        elif isinstance(item, int | float):
            out.append(_number(item))
        elif isinstance(item, str):
            out.append(_string(item))
        elif isinstance(item, list | tuple):
            parts: list[Any] = [_Raw("[")]
            for index, child in enumerate(item):
                if index:
                    parts.append(_Raw(","))
                parts.append(child)
            parts.append(_Raw("]"))
            stack.extend(reversed(parts))
        elif isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise CanonicalizationError("object keys must be strings")
            parts = [_Raw("{")]
            for index, key in enumerate(sorted(item, key=_utf16_key)):
                if index:
                    parts.append(_Raw(","))
                parts.append(_Raw(_string(key) + ":"))
                parts.append(item[key])
            parts.append(_Raw("}"))
            stack.extend(reversed(parts))
        else:
            raise CanonicalizationError(f"{type(item).__name__} is not a JSON type")
    return "".join(out).encode("utf-8")


class _Raw:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
