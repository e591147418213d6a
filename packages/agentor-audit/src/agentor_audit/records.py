"""The bytes of one log entry: RFC 8785 canonical JSON of ``{"event": …, "sequence": n}``.

The leaf of the Merkle tree is exactly these bytes, so an auditor can rebuild
a leaf hash from an exported line with any RFC 8785 implementation. Because
``"event"`` sorts before ``"sequence"``, every record ends in
``,"sequence":<n>}``: a verifier checks an entry's position without parsing it.
"""

from __future__ import annotations

import json
from typing import Any, Final

from agentor_audit.codes import AuditCode
from agentor_core.canonical import CanonicalizationError, canonical_json
from agentor_core.errors import AgentorError

MAX_RECORD_BYTES: Final = 4 * 1024 * 1024
"""A larger event is refused (and so is the action it records): bound every row."""

RECORD_PREFIX: Final = b'{"event":{'

_MAX_SAFE: Final = 2**53 - 1


def _fast_path_safe(value: Any) -> bool:
    """Whether json.dumps gives RFC 8785 bytes for ``value``.

    They differ only for floats (number formatting), integers beyond 2**53
    (RFC 8785 refuses them) and object keys that sort differently by UTF-16
    unit than by code point (possible only for non-ASCII keys). Strings need no
    check: both encode them as raw UTF-8 with the same short escapes.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str or not key.isascii():
                    return False
            children = item.values()
        elif kind is list:
            children = item
        else:
            children = (item,)
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append(child)
            elif (
                kind is float
                or (kind is int and not -_MAX_SAFE <= child <= _MAX_SAFE)
                or kind not in _SCALARS
            ):
                return False
    return True


_SCALARS: Final = frozenset({str, int, bool, type(None)})
_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(value: Any, *, checked: bool = False) -> bytes:
    """RFC 8785 bytes of ``value``, taking json's C encoder when it gives the same bytes.

    See :func:`_fast_path_safe` for when that holds (``checked=True``: the
    caller has established it); everything else goes through agentor_core's
    reference implementation. A property test checks that the two agree.
    """
    if not checked and not _fast_path_safe(value):
        return _reference(value)
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        # A non-JSON type or a lone surrogate: the reference says precisely why.
        return _reference(value)


def event_bytes(event: dict[str, Any]) -> bytes:
    """Canonical bytes of a dumped AuditEvent: only its free-form members need the check."""
    if _fast_path_safe(event.get("arguments")) and _fast_path_safe(event.get("detail")):
        return canonical_bytes(event, checked=True)
    return _reference(event)


def _reference(value: Any) -> bytes:
    try:
        return canonical_json(value)
    except CanonicalizationError as exc:
        raise AgentorError(
            AuditCode.INVALID_EVENT,
            f"the event has no canonical JSON form: {exc}",
            hint="audit events must hold only JSON values (finite numbers, integers below 2**53)",
        ) from None


def record_bytes(event_json: bytes, sequence: int) -> bytes:
    """The leaf data for an event's canonical bytes at ``sequence``."""
    data = b'{"event":' + event_json + b',"sequence":' + str(sequence).encode() + b"}"
    if len(data) > MAX_RECORD_BYTES:
        raise AgentorError(
            AuditCode.INVALID_EVENT,
            f"the audit record is {len(data)} bytes, over the {MAX_RECORD_BYTES}-byte limit",
            hint="record a digest of large arguments or results instead of the values",
        )
    return data


def claims_sequence(data: bytes, sequence: int) -> bool:
    """Whether record bytes name ``sequence`` as their position (no parsing needed)."""
    return data.startswith(RECORD_PREFIX) and data.endswith(b',"sequence":%d}' % sequence)
