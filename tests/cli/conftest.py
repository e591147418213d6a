from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point agentor's cache, state and config folders into tmp_path (not yet created)."""
    found = {kind: tmp_path / kind for kind in ("cache", "state", "config")}
    for kind, path in found.items():
        monkeypatch.setenv(f"AGENTOR_{kind.upper()}_DIR", str(path))
    # Plain text for string comparisons, whatever the calling environment asks for.
    for variable in ("FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return found
