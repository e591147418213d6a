"""The trust store a command checks signatures against."""

from __future__ import annotations

from pathlib import Path

from agentor_toolkit.signing import TrustStore


def trust_store(paths: tuple[Path, ...]) -> TrustStore:
    """Keys from ``--trust`` files or folders, else the config trust folder."""
    return TrustStore.from_paths(list(paths)) if paths else TrustStore.default()
