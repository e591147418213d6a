"""``{{secret:NAME}}`` placeholders: substituted by the host, towards bound audiences only."""

from __future__ import annotations

import re
from typing import Final

from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError
from agentor_core.interfaces import SecretStore
from agentor_egress.codes import EgressCode
from agentor_egress.urls import Target

PLACEHOLDER: Final = re.compile(r"\{\{secret:([A-Za-z_][A-Za-z0-9_.\-]{0,127})\}\}")
PLACEHOLDER_BYTES: Final = re.compile(rb"\{\{secret:([A-Za-z_][A-Za-z0-9_.\-]{0,127})\}\}")
_HEADER_UNSAFE: Final = frozenset("\r\n\x00")


def audience_matches(granted: str, target: Target) -> bool:
    scheme, _, host = granted.partition("://")
    if scheme != target.scheme or (target.address is not None and host.startswith("*.")):
        return False
    if host.startswith("*."):
        return target.host.endswith(host[1:]) and len(target.host) > len(host) - 1
    return granted == target.audience


def is_bound(name: str, target: Target, grant: Capabilities) -> bool:
    return any(
        secret.name == name and any(audience_matches(a, target) for a in secret.audiences)
        for secret in grant.secrets
    )


def _value(name: str, target: Target, grant: Capabilities, store: SecretStore | None) -> str:
    if not is_bound(name, target, grant):
        raise AgentorError(
            EgressCode.SECRET_UNBOUND,
            f"secret {name} is not granted towards {target.audience}",
            hint=f"grant it with SecretGrant(name={name!r}, audiences=({target.audience!r},)) "
            "if this destination should receive it",
        )
    if store is None:
        raise AgentorError(
            EgressCode.SECRET_UNAVAILABLE,
            f"secret {name} is bound but the egress guard has no secret store",
            hint="construct the guard with a SecretStore",
        )
    try:
        value = store.reveal(name)
    except AgentorError:
        raise
    except Exception as exc:  # noqa: BLE001 - any store may fail; fail closed with a code
        raise AgentorError(
            EgressCode.SECRET_UNAVAILABLE,
            f"the secret store failed while reading {name}: {type(exc).__name__}",
            hint="check the secret store with 'agentor secret list'",
        ) from None
    if value is None:
        raise AgentorError(
            EgressCode.SECRET_MISSING,
            f"secret {name} is granted but not in the secret store",
            hint=f"store it: agentor secret set {name}",
        )
    return value


def substitute_header(
    value: str, target: Target, grant: Capabilities, store: SecretStore | None
) -> tuple[str, bool]:
    """``value`` with its placeholders filled for ``target``; the flag says if any were."""
    if "{{secret:" not in value:
        return value, False

    def fill(match: re.Match[str]) -> str:
        secret = _value(match.group(1), target, grant, store)
        # Never quote the value: an encoding error would name its characters.
        if not secret.isascii() or any(c in _HEADER_UNSAFE for c in secret):
            raise AgentorError(
                EgressCode.SECRET_PLACEMENT,
                f"secret {match.group(1)} holds a line break, NUL or a non-ASCII character "
                "and cannot go in a header",
                hint="store the value as ASCII without line breaks (base64 for other bytes)",
            )
        return secret

    return PLACEHOLDER.sub(fill, value), True


def substitute_body(
    body: bytes, target: Target, grant: Capabilities, store: SecretStore | None
) -> bytes:
    if b"{{secret:" not in body:
        return body

    def fill(match: re.Match[bytes]) -> bytes:
        return _value(match.group(1).decode("ascii"), target, grant, store).encode("utf-8")

    return PLACEHOLDER_BYTES.sub(fill, body)
