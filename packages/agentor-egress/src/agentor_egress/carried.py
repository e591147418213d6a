"""Which stored values a request may carry itself, and where: the leak scan's rule.

A tool never sees a secret value: it writes ``{{secret:NAME}}`` and the guard
fills it. The host's own clients (the MCP proxy's OAuth client) do hold values:
a client secret, access and refresh tokens. A grant names those with
``SecretGrant.carried_in``; such a value may travel verbatim only in the named
places (``header``, ``body``) of a request to an audience the secret is bound
to, and come back only in the ``response`` of such an audience when granted.
Anywhere else (the URL, a header name, another audience, a redirect elsewhere,
a place not granted) it is a leak, as every other stored value always is.

Stored values that are JSON objects (e.g. OAuth tokens kept as one entry) are
scanned for their credential members too, so an access token stored inside a
JSON document is recognised like a plain stored value.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Final, Literal

from agentor_core.capabilities import Capabilities
from agentor_core.redaction import Redactor
from agentor_egress.placeholders import audience_matches
from agentor_egress.urls import Target

Place = Literal["header", "body", "response"]

CREDENTIAL_MEMBERS: Final = frozenset(
    {"access_token", "refresh_token", "id_token", "client_secret"}
)
"""Members of a JSON stored value that are credentials in their own right."""
_MAX_STRUCTURED_CHARS: Final = 64 * 1024
_MAX_DEPTH: Final = 4


def _members(value: object, depth: int) -> Iterator[str]:
    if depth > _MAX_DEPTH or not isinstance(value, dict):
        return
    for key, member in value.items():
        if key in CREDENTIAL_MEMBERS and isinstance(member, str):
            yield member
        elif isinstance(member, dict):
            yield from _members(member, depth + 1)


def stored_values(name: str, value: str) -> list[tuple[str, str]]:
    """``(name, value)`` pairs to scan for: the value, and its credential members if JSON."""
    pairs = [(name, value)]
    if value.startswith("{") and len(value) <= _MAX_STRUCTURED_CHARS:
        try:
            document = json.loads(value)
        except (ValueError, RecursionError):
            return pairs
        pairs.extend((name, member) for member in _members(document, 0))
    return pairs


def header_findings(redactor: Redactor, value: str) -> set[str]:
    """Secrets whose value a header value carries, including inside Basic credentials.

    ``Basic base64(id:secret)`` hides the secret from a plain scan (its base64 is
    not the base64 of the value alone), so the credentials are decoded and scanned.
    """
    found = set(redactor.find(value))
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return found
        found.update(redactor.find(decoded))
    return found


def is_carried(name: str, place: Place, target: Target, grant: Capabilities) -> bool:
    """Whether the grant lets ``name``'s value travel verbatim in ``place`` to ``target``."""
    return any(
        secret.name == name
        and place in secret.carried_in
        and any(audience_matches(a, target) for a in secret.audiences)
        for secret in grant.secrets
    )


def carried_anywhere(name: str, place: Place, grant: Capabilities) -> bool:
    return any(secret.name == name and place in secret.carried_in for secret in grant.secrets)
