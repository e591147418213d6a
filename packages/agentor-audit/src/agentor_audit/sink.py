"""The entry-point factory: an AuditLog on the embedded defaults, or as configured."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from agentor_audit.keys import load_or_create_signer, load_signer
from agentor_audit.redaction import Redactor
from agentor_audit.store import (
    DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_CHECKPOINT_SECONDS,
    AuditLog,
    Durability,
)
from agentor_core.paths import ensure_private_dir, state_dir

DEFAULT_KEY_NAME: Final = "agentor.local/audit"


def default_dir() -> Path:
    return state_dir() / "audit"


def create_audit_sink(
    *,
    path: str | Path | None = None,
    key: str | Path | None = None,
    witness_dir: str | Path | None = None,
    durability: Durability = "full",
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
    secrets: dict[str, str] | None = None,
    redact_fields: tuple[str, ...] = (),
    origin: str | None = None,
) -> AuditLog:
    """Open (creating if needed) the audit log.

    Defaults: ``<state dir>/audit/audit.db`` and a signing key made on first use
    at ``<state dir>/audit/checkpoint.key`` (its verifier beside it, ``.pub``).
    """
    folder = ensure_private_dir(default_dir()) if path is None or key is None else None
    db = Path(path) if path is not None else Path(str(folder)) / "audit.db"
    if key is None:
        signer = load_or_create_signer(Path(str(folder)) / "checkpoint.key", DEFAULT_KEY_NAME)
    else:
        signer = load_signer(Path(key))
    return AuditLog(
        db,
        signer,
        origin=origin,
        durability=durability,
        checkpoint_every=checkpoint_every,
        checkpoint_seconds=checkpoint_seconds,
        witness_dir=Path(witness_dir) if witness_dir is not None else None,
        redactor=Redactor(secrets, redact_fields),
    )
