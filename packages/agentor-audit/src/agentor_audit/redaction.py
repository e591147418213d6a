"""Keeping secret values and configured fields out of the store while the digest binds them.

Construction (stable, part of the log format):

``argument_digest = hex(SHA-256(RFC 8785 canonical JSON of the unredacted arguments))``

computed before redaction, and only when the caller did not set one already
(the runtime sets the same value as the call fingerprint's argument part). It is
not salted: a salt stored next to the digest would not slow down anyone guessing
a value, and a secret salt would stop a holder of the real arguments from
proving them, which is the point of the digest. The consequence, stated in the
README: a low-entropy value in a redacted field (a short password) can be
confirmed by guessing; secrets that matter (tokens, keys) are high-entropy.

Redaction then replaces, in every string of the event, each registered secret
value with ``[REDACTED:<name>]``, and replaces the value of every configured
field name (compared case-insensitively, at any depth of ``arguments`` and
``detail``) with ``[REDACTED]``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from agentor_audit.codes import AuditCode
from agentor_audit.records import canonical_bytes
from agentor_core.errors import AgentorError

FIELD_MARK: Final = "[REDACTED]"


def argument_digest(arguments: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(dict(arguments))).hexdigest()


class Redactor:
    """Registered secrets and field names; thread-safe to read, replaced as a whole to change."""

    def __init__(
        self, secrets: Mapping[str, str] | None = None, fields: Iterable[str] = ()
    ) -> None:
        secrets = dict(secrets or {})
        for name, value in secrets.items():
            if not value:
                raise AgentorError(
                    AuditCode.REDACTION_INVALID,
                    f"secret {name!r} has an empty value, which cannot be redacted",
                    hint="register only non-empty secret values",
                )
        self._marks = {value: f"[REDACTED:{name}]" for name, value in secrets.items()}
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(self._marks, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._fields = frozenset(f.casefold() for f in fields)

    @property
    def active(self) -> bool:
        return self._pattern is not None or bool(self._fields)

    def scrub(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._marks[m.group(0)], text)

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        """Redact an event dict (as ``model_dump(mode="json")`` gives it); returns a new dict."""
        if not self.active:
            return record
        out: dict[str, Any] = {}
        for key, value in record.items():
            if key in ("arguments", "detail"):
                out[key] = self._walk(value, by_field=True)
            else:
                out[key] = self._walk(value, by_field=False)
        return out

    def _walk(self, value: Any, *, by_field: bool) -> Any:
        # Iterative copy: event JSON is bounded but may still be deep.
        root: list[Any] = [None]
        stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
        while stack:
            item, parent, slot = stack.pop()
            if isinstance(item, str):
                parent[slot] = self.scrub(item)
            elif isinstance(item, dict):
                copy: dict[str, Any] = {}
                parent[slot] = copy
                for key, child in item.items():
                    new_key = self.scrub(key)
                    if by_field and key.casefold() in self._fields:
                        copy[new_key] = FIELD_MARK
                    else:
                        copy[new_key] = None
                        stack.append((child, copy, new_key))
            elif isinstance(item, list):
                items: list[Any] = [None] * len(item)
                parent[slot] = items
                stack.extend((child, items, i) for i, child in enumerate(item))
            else:
                parent[slot] = item
        return root[0]
