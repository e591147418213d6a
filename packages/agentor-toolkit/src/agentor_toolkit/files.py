"""Reading a file with a ceiling that holds for what is read, not for what ``stat`` said."""

from __future__ import annotations

from pathlib import Path


def read_at_most(path: Path, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of ``path``; the caller refuses anything longer than ``limit``.

    ``stat`` reports 0 for pipes and devices (``/dev/zero``), and a file may grow
    after it is checked: only a bounded read keeps an oversized input out of memory.
    Raises ``OSError`` like ``Path.read_bytes``.
    """
    with path.open("rb") as handle:
        return handle.read(limit + 1)
