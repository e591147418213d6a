"""Checkpoint key files: the signing key (mode 0600) and its public verifier key (``.pub``)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Final

from agentor_audit.codes import AuditCode
from agentor_audit.note import NoteSigner, NoteVerifier
from agentor_core.errors import AgentorError

MAX_KEY_FILE_BYTES: Final = 4096


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise AgentorError(
            AuditCode.KEY_MISSING,
            f"no key file at {path}",
            hint="create one with 'agentor audit keygen --out PATH'",
        ) from None
    except OSError as exc:
        raise AgentorError(
            AuditCode.KEY_INVALID,
            f"cannot read key file {path}: {exc.strerror}",
            hint="check the path and its permissions",
        ) from None
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise AgentorError(
            AuditCode.KEY_INVALID,
            f"{path} is too large to be a key file",
            hint="pass the key file itself",
        )
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise AgentorError(
            AuditCode.KEY_INVALID, f"{path} is not a text key file", hint="pass the key file itself"
        ) from None


def load_signer(path: Path) -> NoteSigner:
    return NoteSigner.decode(_read(path))


def load_verifier(path: Path) -> NoteVerifier:
    text = _read(path)
    if text.startswith("PRIVATE+KEY+"):
        # Accept the private key too (its public half is derivable), but never print it.
        return NoteSigner.decode(text).verifier
    return NoteVerifier.decode(text)


def write_key_files(signer: NoteSigner, path: Path, *, overwrite: bool = False) -> Path:
    """Write the signing key to ``path`` (0600, exclusive) and its verifier to ``path.pub``."""
    public = path.with_name(path.name + ".pub")
    if overwrite:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        _write_key(fd, signer)
    else:
        # Written whole under a private name, then linked into place (which fails if
        # the name exists): a process racing to create the same key never reads a
        # half-written file, as several `agentor serve` workers starting together would.
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        _write_key(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), signer)
        try:
            os.link(draft, path)
        except FileExistsError:
            raise AgentorError(
                AuditCode.KEY_INVALID,
                f"{path} already exists; refusing to overwrite a signing key",
                hint="choose another path, or move the old key away if you really mean to "
                "replace it",
            ) from None
        finally:
            draft.unlink(missing_ok=True)
    public.write_text(signer.verifier.encode() + "\n", encoding="ascii")
    return public


def _write_key(fd: int, signer: NoteSigner) -> None:
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(signer.encode() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def load_or_create_signer(path: Path, name: str) -> NoteSigner:
    """The embedded default: a per-user key in the private state folder, made on first use."""
    if path.exists():
        return load_signer(path)
    signer = NoteSigner.generate(name)
    try:
        write_key_files(signer, path)
    except AgentorError:
        # Another process created it first: use theirs, so all writers share one key.
        return load_signer(path)
    return signer
