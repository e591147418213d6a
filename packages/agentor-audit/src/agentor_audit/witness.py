"""A witness folder: the latest checkpoint kept outside the store, so truncation is caught.

A copy of the newest signed checkpoint lives in ``<dir>/checkpoint``. Someone
who rolls the store back to an earlier state (events and checkpoints alike)
cannot also roll back a witness they do not control; the verifier reads both.
Writes are atomic (temporary file, fsync, rename) and never replace a larger
tree with a smaller one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Final

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

WITNESS_FILE: Final = "checkpoint"
MAX_WITNESS_BYTES: Final = 1_000_000


def _size_of(note: str) -> int:
    lines = note.split("\n", 2)
    # ASCII digits only: str.isdigit() also admits digits int() refuses ("\u00b2").
    size = lines[1] if len(lines) > 2 else ""
    return int(size) if size.isascii() and size.isdigit() else -1


def read_witness(folder: Path) -> str | None:
    path = folder / WITNESS_FILE
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_WITNESS_BYTES + 1)
    except FileNotFoundError:
        return None
    return raw.decode("utf-8", "replace")


def write_witness(folder: Path, note: str) -> bool:
    """Store ``note`` as the latest checkpoint unless a larger tree is already witnessed."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_witness(folder)
        if current is not None and _size_of(current) >= _size_of(note):
            return False
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".checkpoint-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(note)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(folder / WITNESS_FILE)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
            raise
        if hasattr(os, "O_DIRECTORY"):
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        return True
    finally:
        os.close(lock)
