"""Several processes creating the default signing key at once all end up with the same key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from pathlib import Path
from agentor_audit.keys import load_or_create_signer

print(load_or_create_signer(Path(sys.argv[1]), "race.example/audit").verifier.encode())
"""


def test_processes_racing_to_create_the_key_share_one(tmp_path: Path) -> None:
    key = tmp_path / "checkpoint.key"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(key)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(6)
    ]
    outputs = [racer.communicate(timeout=120) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), [err for _out, err in outputs]
    verifiers = {out.strip() for out, _err in outputs}
    assert len(verifiers) == 1
    assert key.stat().st_mode & 0o777 == 0o600
    # No draft left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.key", "checkpoint.key.pub"]
