"""The entry-point factory: the default secret store of this machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from agentor_core.paths import config_dir, ensure_private_dir
from agentor_secrets.file import EncryptedFileStore

FILE_ENV: Final = "AGENTOR_SECRETS_FILE"
"""Overrides the location of the encrypted secret file."""


def default_path() -> Path:
    """``$AGENTOR_SECRETS_FILE``, else ``secrets.json`` in agentor's config folder."""
    override = os.environ.get(FILE_ENV)
    if override:
        return Path(override).expanduser()
    return config_dir() / "secrets.json"


def create(
    *, path: str | os.PathLike[str] | None = None, passphrase: str | None = None
) -> EncryptedFileStore:
    """The encrypted file store at ``path`` (default :func:`default_path`).

    The passphrase comes from the argument or ``AGENTOR_SECRETS_PASSPHRASE``.
    The default folder is created private (0700) if it does not exist.
    """
    if path is None:
        target = default_path()
        if FILE_ENV not in os.environ:
            ensure_private_dir(target.parent)
        return EncryptedFileStore(target, passphrase)
    return EncryptedFileStore(path, passphrase)
