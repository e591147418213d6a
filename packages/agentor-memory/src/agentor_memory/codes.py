"""Stable error codes of agentor-memory. Never renamed once released."""

from __future__ import annotations

from enum import StrEnum


class MemoryCode(StrEnum):
    STORE_UNAVAILABLE = "memory.store_unavailable"
    """The store file could not be opened or created (folder, permissions, SQLite build)."""
    STORE_CORRUPT = "memory.store_corrupt"
    """The file is not a database, not an agentor memory store, or holds a malformed record."""
    STORE_READ_ONLY = "memory.store_read_only"
    """The store is read-only; nothing can be remembered until it is writable."""
    STORE_FULL = "memory.store_full"
    """The store reached its size cap (or the disk is full); nothing was written."""
    STORE_BUSY = "memory.store_busy"
    """Another process held the write lock for longer than the busy timeout."""
    STORE_CLOSED = "memory.store_closed"
    """The store was used after close()."""
    RECORD_TOO_LARGE = "memory.record_too_large"
    """A record's text or metadata is over the configured bound."""
    RECORD_INVALID = "memory.record_invalid"
    """A record cannot be stored (text not encodable as UTF-8, id already used)."""
    NAMESPACE_INVALID = "memory.namespace_invalid"
    """A namespace name is empty, too long or uses characters outside [A-Za-z0-9_.:-]."""
    QUERY_INVALID = "memory.query_invalid"
    """A query is too long, has too many terms, or asks for too many results."""
    RECORD_NOT_FOUND = "memory.record_not_found"
    """No live record has the given id (``agentor memory rm``)."""
    PURGE_UNCONFIRMED = "memory.purge_unconfirmed"
    """``agentor memory purge`` was run without ``--yes``; nothing was deleted."""
    LIMITS_INVALID = "memory.limits_invalid"
    """A configured bound is out of its allowed range."""
