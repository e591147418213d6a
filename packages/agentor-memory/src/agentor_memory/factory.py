"""The entry-point factory: the SQLite store on the embedded defaults, or as configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentor_core.paths import ensure_private_dir, state_dir
from agentor_memory.limits import limits_from
from agentor_memory.store import SqliteMemoryStore


def default_path() -> Path:
    """``<state dir>/memory/memory.db`` (the state dir moves with ``AGENTOR_STATE_DIR``)."""
    return state_dir() / "memory" / "memory.db"


def create_memory_store(
    *, path: str | Path | None = None, fts: bool | None = None, **limits: Any
) -> SqliteMemoryStore:
    """Open (creating if needed) the memory store; ``limits`` are :class:`MemoryLimits` fields."""
    if path is None:
        db = ensure_private_dir(default_path().parent) / default_path().name
    else:
        db = Path(path)
    return SqliteMemoryStore(db, limits_from(limits), fts=fts)
