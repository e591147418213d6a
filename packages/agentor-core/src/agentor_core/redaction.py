"""Finding and scrubbing known secret values in text and bytes.

Lives in agentor-core because every distribution that writes something down
(egress, audit, runtime, the CLI) must scrub secrets, and none of them may
import agentor-secrets. A :class:`Redactor` is built from ``name -> value``
pairs by the host; it never exposes the values it holds.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import quote

MIN_SCANNED_CHARS: Final = 6
"""Shorter values are not scanned: they would match ordinary text everywhere."""


def _variants(value: str) -> set[str]:
    # The spellings a value commonly takes when pasted into a request or echoed
    # by a server: as is, percent-encoded, and base64 (standard and URL-safe).
    raw = value.encode("utf-8")
    return {
        value,
        quote(value, safe=""),
        base64.b64encode(raw).decode("ascii"),
        base64.urlsafe_b64encode(raw).decode("ascii"),
        base64.b64encode(raw).decode("ascii").rstrip("="),
    }


class Redactor:
    """Knows secret values by name; finds and replaces them, longest spelling first.

    Values shorter than :data:`MIN_SCANNED_CHARS` are ignored (see there).
    ``repr()`` never shows a value.
    """

    __slots__ = ("_bytes", "_text")

    def __init__(self, secrets: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = secrets.items() if isinstance(secrets, Mapping) else secrets
        found: dict[str, str] = {}
        for name, value in pairs:
            if len(value) < MIN_SCANNED_CHARS:
                continue
            for variant in _variants(value):
                # Two secrets sharing a spelling: report the first name only.
                found.setdefault(variant, name)
        # Longest first, so a value that contains another is replaced whole.
        self._text: tuple[tuple[str, str], ...] = tuple(
            sorted(found.items(), key=lambda item: (-len(item[0]), item[1]))
        )
        self._bytes: tuple[tuple[bytes, str], ...] = tuple(
            (variant.encode("utf-8"), name) for variant, name in self._text
        )

    def __repr__(self) -> str:
        return f"Redactor({len(self.names())} secrets)"

    def __bool__(self) -> bool:
        return bool(self._text)

    def names(self) -> list[str]:
        """The names of the secrets this redactor scans for, sorted."""
        return sorted({name for _, name in self._text})

    def find(self, data: str | bytes) -> list[str]:
        """Names of the secrets whose value (in any known spelling) occurs in ``data``."""
        if isinstance(data, bytes):
            hits = {name for variant, name in self._bytes if variant in data}
        else:
            hits = {name for variant, name in self._text if variant in data}
        return sorted(hits)

    def scrub(self, text: str) -> str:
        """``text`` with every known value replaced by ``[redacted:NAME]``."""
        for variant, name in self._text:
            if variant in text:
                text = text.replace(variant, f"[redacted:{name}]")
        return text

    def scrub_bytes(self, data: bytes) -> bytes:
        """As :meth:`scrub`, for bytes (values matched in their UTF-8 encoding)."""
        for variant, name in self._bytes:
            if variant in data:
                data = data.replace(variant, f"[redacted:{name}]".encode())
        return data
