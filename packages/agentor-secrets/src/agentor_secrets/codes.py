"""Stable error codes of agentor-secrets."""

from __future__ import annotations

from enum import StrEnum


class SecretsCode(StrEnum):
    """Codes raised by the secret stores. Never renamed once released.

    (The ``noqa``/``nosec`` marks below: these are error codes, not passwords.)
    """

    INVALID_NAME = "secrets.invalid_name"
    """A name outside ``[A-Za-z_][A-Za-z0-9_.-]*`` (at most 128 characters)."""
    INVALID_VALUE = "secrets.invalid_value"
    """A value that is empty, over the size limit, or holds a NUL character."""
    NOT_FOUND = "secrets.not_found"
    """No secret of that name is stored."""
    READ_ONLY = "secrets.read_only"
    """The store cannot change (the environment store)."""
    PASSPHRASE_MISSING = "secrets.passphrase_missing"  # noqa: S105  # nosec B105
    """The encrypted file needs a passphrase and none was given."""
    WEAK_PASSPHRASE = "secrets.weak_passphrase"  # noqa: S105  # nosec B105
    """A new file was to be created with a passphrase shorter than 8 characters."""
    WRONG_PASSPHRASE = "secrets.wrong_passphrase"  # noqa: S105  # nosec B105
    """The file did not decrypt: wrong passphrase, or the file was altered."""
    CORRUPT = "secrets.corrupt"
    """The file is not a secret store this version can read."""
    UNSAFE_PERMISSIONS = "secrets.unsafe_permissions"
    """The file or its folder can be read or written by other users."""
    IO_ERROR = "secrets.io_error"
    """The file could not be read or written."""
