"""Checks on names and values shared by every store."""

from __future__ import annotations

import re
from typing import Final

from agentor_core.errors import AgentorError
from agentor_secrets.codes import SecretsCode

MAX_NAME_CHARS: Final = 128
MAX_VALUE_CHARS: Final = 64 * 1024
MAX_SECRETS: Final = 4096

# The same shape as agentor_core.capabilities.SecretName, so a grant can name any stored secret.
_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")


def check_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise AgentorError(
            SecretsCode.INVALID_NAME,
            "a secret name must start with a letter or '_' and hold only letters, digits, "
            f"'_', '.' and '-' (at most {MAX_NAME_CHARS} characters)",
            hint="choose a name such as GITHUB_TOKEN",
        )
    return name


def check_value(value: str) -> str:
    # The value is never quoted in a message: messages reach logs.
    if not value:
        raise AgentorError(
            SecretsCode.INVALID_VALUE, "a secret value must be non-empty text", hint="give a value"
        )
    if len(value) > MAX_VALUE_CHARS:
        raise AgentorError(
            SecretsCode.INVALID_VALUE,
            f"a secret value is limited to {MAX_VALUE_CHARS} characters",
            hint="store a shorter value, e.g. a token rather than a file",
        )
    if "\x00" in value:
        raise AgentorError(
            SecretsCode.INVALID_VALUE,
            "a secret value must not contain NUL characters",
            hint="store the value as text (base64 for binary data)",
        )
    return value
