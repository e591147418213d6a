"""Stable error codes of agentor-audit. Never renamed once released."""

from __future__ import annotations

from enum import StrEnum


class AuditCode(StrEnum):
    STORE_UNWRITABLE = "audit.store_unwritable"
    """The store could not commit (I/O error, locked too long); the audited action must not run."""
    STORE_READ_ONLY = "audit.store_read_only"
    """The store is read-only; audited actions are refused until it is writable."""
    DISK_FULL = "audit.disk_full"
    """The disk (or the store's size cap) is full; audited actions are refused."""
    STORE_CORRUPT = "audit.store_corrupt"
    """The store is not an agentor audit log or its bookkeeping contradicts its events."""
    STORE_CLOSED = "audit.store_closed"
    """An append arrived after close()."""
    INVALID_EVENT = "audit.invalid_event"
    """The event has no canonical JSON form or is larger than the record limit."""
    KEY_INVALID = "audit.key_invalid"
    """A signing or verifier key could not be read."""
    KEY_MISSING = "audit.key_missing"
    """No key file at the given path."""
    CHECKPOINT_INVALID = "audit.checkpoint_invalid"
    """A checkpoint is malformed, unsigned by the trusted key, or contradicts the log."""
    LOG_TAMPERED = "audit.log_tampered"
    """Verification found the log altered, reordered, truncated or rolled back."""
    LOG_UNREADABLE = "audit.log_unreadable"
    """The log file or export could not be read or parsed."""
    PROOF_UNAVAILABLE = "audit.proof_unavailable"
    """A proof was asked for a sequence number or tree size the log does not have."""
    IMPORT_REFUSED = "audit.import_refused"
    """The import target already holds events, or the export failed verification."""
    EXPORT_FAILED = "audit.export_failed"
    """The export file could not be written (it exists already, or the disk failed)."""
    REDACTION_INVALID = "audit.redaction_invalid"
    """A secret value or field name given for redaction is unusable (empty)."""
