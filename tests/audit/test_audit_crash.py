"""kill -9 during heavy appends: nothing committed is lost or damaged; losses are counted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentor_audit import (
    AuditLog,
    NoteSigner,
    StoreReader,
    load_signer,
    verify_path,
    write_key_files,
)
from agentor_core.audit import AuditEvent, AuditEventType

WAITING_CHILD = """
import sys, threading
from datetime import UTC, datetime
from pathlib import Path
from agentor_audit import AuditLog, load_signer
from agentor_core.audit import AuditEvent, AuditEventType
log = AuditLog(Path(sys.argv[1]), load_signer(Path(sys.argv[2])), checkpoint_every=100)
lock = threading.Lock()
def work(t):
    i = 0
    while True:
        e = AuditEvent(type=AuditEventType.RESULT, time=datetime.now(UTC), call_id=f"t{t}-{i}",
                       outcome="ok", detail={"pad": "x" * 200})
        r = log.append(e)
        with lock:
            sys.stdout.write(f"{r.sequence} {r.leaf_hash}\\n")
            sys.stdout.flush()
        i += 1
for t in range(4):
    threading.Thread(target=work, args=(t,), daemon=True).start()
threading.Event().wait()
"""

SUBMITTING_CHILD = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from agentor_audit import AuditLog, load_signer
from agentor_core.audit import AuditEvent, AuditEventType
log = AuditLog(Path(sys.argv[1]), load_signer(Path(sys.argv[2])), flush_seconds=0.02)
i = 0
while True:
    e = AuditEvent(type=AuditEventType.EGRESS_ALLOWED, time=datetime.now(UTC), call_id=f"s{i}")
    log.submit(e)
    i += 1
    if i % 500 == 0:
        sys.stdout.write(f"{i}\\n")
        sys.stdout.flush()
"""


def start(code: str, db: Path, key: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, str(db), str(key)], stdout=subprocess.PIPE, text=True
    )


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "k.key"
    write_key_files(NoteSigner.generate("test.example/audit"), path)
    return path


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_kill_9_loses_no_acknowledged_event(tmp_path: Path, key: Path) -> None:
    db = tmp_path / "a.db"
    proc = start(WAITING_CHILD, db, key)
    acknowledged: dict[int, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        seq, leaf = line.split()
        acknowledged[int(seq)] = leaf
        if len(acknowledged) >= 600:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    # Receipts printed before the kill are all there, with the same leaf hashes.
    signer = load_signer(key)
    with AuditLog(db, signer) as log:
        assert log.recovery.lost_in_flight == 0
        assert log.recovery.dead_writers == 1
        size = log.size
        after = AuditEvent(type=AuditEventType.CONFIG_CHANGED, time=datetime.now(UTC))
        assert log.append(after).sequence == size
    with StoreReader(db) as reader:
        stored = {seq: leaf.hex() for seq, leaf, _ in reader.rows()}
    for seq, leaf in acknowledged.items():
        assert stored[seq] == leaf
    report = verify_path(db, signer.verifier)
    assert report.ok, report.reason
    assert report.size == size + 1


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_kill_9_reports_unwaited_submissions_lost_in_flight(tmp_path: Path, key: Path) -> None:
    db = tmp_path / "a.db"
    proc = start(SUBMITTING_CHILD, db, key)
    assert proc.stdout is not None
    submitted = 0
    for line in proc.stdout:
        submitted = int(line)
        if submitted >= 5000:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    signer = load_signer(key)
    with AuditLog(db, signer) as log:
        recovery = log.recovery
        size = recovery.tree_size
    assert recovery.dead_writers == 1
    assert recovery.lost_in_flight > 0
    with StoreReader(db) as reader:
        noted = json.loads(reader.record(size) or b"{}")["event"]
    # The loss is itself a signed entry of the log.
    assert noted["type"] == "audit.recovered"
    assert noted["detail"]["lost_in_flight"] == recovery.lost_in_flight
    # Everything submitted was either committed or counted as lost; nothing is unaccounted.
    assert size + recovery.lost_in_flight >= submitted
    report = verify_path(db, signer.verifier)
    assert report.ok, report.reason
    # A second open finds nothing more to recover.
    with AuditLog(db, signer) as log:
        assert log.recovery.dead_writers == 0
