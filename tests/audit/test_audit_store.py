"""The SQLite store: receipts, checkpoints, witnesses, threads, processes, failures, redaction."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentor_audit import (
    AuditLog,
    NoteSigner,
    Redactor,
    StoreReader,
    load_verifier,
    verify_path,
    write_key_files,
)
from agentor_audit.proofs import (
    consistency_proof_text,
    inclusion_proof_text,
    verify_consistency_text,
    verify_inclusion_text,
)
from agentor_audit.transfer import export_jsonl, import_jsonl
from agentor_audit.witness import read_witness
from agentor_core.audit import AuditEvent, AuditEventType
from agentor_core.canonical import canonical_json
from agentor_core.discovery import create
from agentor_core.errors import AgentorError
from agentor_core.interfaces import AuditSink


def event(i: int = 0, **extra: object) -> AuditEvent:
    return AuditEvent.model_validate(
        {
            "type": AuditEventType.DECISION,
            "time": datetime(2026, 11, 27, tzinfo=UTC),
            "tool": "fetch",
            "call_id": f"call-{i}",
            "arguments": {"url": f"https://example.com/{i}"},
            "verdict": "allow",
            "rule_id": "allow-fetch",
            **extra,
        }
    )


@pytest.fixture
def signer() -> NoteSigner:
    return NoteSigner.generate("test.example/audit")


def test_receipts_are_consecutive_and_leaf_hashes_bind_the_stored_record(
    tmp_path: Path, signer: NoteSigner
) -> None:
    with AuditLog(tmp_path / "a.db", signer) as log:
        assert isinstance(log, AuditSink)
        receipts = [log.append(event(i)) for i in range(5)] + log.append_many(
            [event(i) for i in range(5, 9)]
        )
    assert [r.sequence for r in receipts] == list(range(9))
    with StoreReader(tmp_path / "a.db") as reader:
        data = reader.record(3)
    assert data is not None
    assert receipts[3].leaf_hash == hashlib.sha256(b"\x00" + data).hexdigest()
    record = json.loads(data)
    assert record["sequence"] == 3
    assert record["event"]["call_id"] == "call-3"
    assert canonical_json(record) == data  # the leaf data is RFC 8785 canonical JSON


def test_checkpoints_every_n_and_at_close_with_witness(tmp_path: Path, signer: NoteSigner) -> None:
    witness = tmp_path / "witness"
    with AuditLog(
        tmp_path / "a.db", signer, checkpoint_every=10, checkpoint_seconds=1e9, witness_dir=witness
    ) as log:
        for i in range(25):
            log.append(event(i))
    with StoreReader(tmp_path / "a.db") as reader:
        sizes = [int(n.split("\n")[1]) for n in reader.checkpoints()]
        assert sizes == [10, 20, 25]
        assert read_witness(witness) == reader.checkpoints()[-1]
    report = verify_path(tmp_path / "a.db", signer.verifier, witness=witness)
    assert report.ok
    assert report.size == 25
    assert report.attested_size == 25


def test_damaged_witness_does_not_break_appending(tmp_path: Path, signer: NoteSigner) -> None:
    # "\u00b2" (superscript two) passes str.isdigit() but not int(): the witness
    # must read it as damaged, not raise out of an append that already committed.
    witness = tmp_path / "witness"
    witness.mkdir()
    (witness / "checkpoint").write_text("origin\n\u00b2\nroot\n", encoding="utf-8")
    with AuditLog(
        tmp_path / "a.db", signer, checkpoint_every=2, checkpoint_seconds=1e9, witness_dir=witness
    ) as log:
        for i in range(3):
            log.append(event(i))
    with StoreReader(tmp_path / "a.db") as reader:
        assert read_witness(witness) == reader.checkpoints()[-1]


def test_reopen_continues_the_sequence(tmp_path: Path, signer: NoteSigner) -> None:
    with AuditLog(tmp_path / "a.db", signer) as log:
        log.append(event(0))
    with AuditLog(tmp_path / "a.db", signer) as log:
        assert log.recovery.lost_in_flight == 0
        assert log.append(event(1)).sequence == 1
    assert verify_path(tmp_path / "a.db", signer.verifier).ok


def test_threads_share_one_gap_free_sequence(tmp_path: Path, signer: NoteSigner) -> None:
    got: list[int] = []
    lock = threading.Lock()
    with AuditLog(tmp_path / "a.db", signer, durability="normal") as log:

        def work(t: int) -> None:
            for i in range(150):
                seq = log.append(event(t * 1000 + i)).sequence
                with lock:
                    got.append(seq)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(got) == list(range(900))
    assert verify_path(tmp_path / "a.db", signer.verifier).ok


CHILD = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from agentor_audit import AuditLog, load_signer
from agentor_core.audit import AuditEvent, AuditEventType
log = AuditLog(Path(sys.argv[1]), load_signer(Path(sys.argv[2])), durability="normal")
seqs = []
for i in range(int(sys.argv[3])):
    e = AuditEvent(
        type=AuditEventType.RESULT, time=datetime.now(UTC), outcome="ok", call_id=f"p{i}"
    )
    seqs.append(log.append(e).sequence)
log.close()
print(" ".join(map(str, seqs)))
"""


def test_processes_share_one_gap_free_sequence(tmp_path: Path, signer: NoteSigner) -> None:
    key = tmp_path / "k.key"
    write_key_files(signer, key)
    db = tmp_path / "a.db"
    AuditLog(db, signer).close()  # create the schema once, as a deployment would
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), str(key), "150"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    seqs: list[int] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        seqs += [int(s) for s in out.split()]
    assert sorted(seqs) == list(range(450))
    report = verify_path(db, load_verifier(key.with_name("k.key.pub")))
    assert report.ok
    assert report.size == 450


def test_disk_full_fails_closed_and_keeps_what_was_committed(
    tmp_path: Path, signer: NoteSigner
) -> None:
    db = tmp_path / "a.db"
    log = AuditLog(db, signer, max_pages=40, checkpoint_every=10)
    committed = 0
    error: AgentorError | None = None
    for i in range(10_000):
        try:
            log.append(event(i, detail={"pad": "x" * 400}))
        except AgentorError as exc:
            error = exc
            break
        committed += 1
    assert error is not None
    assert error.code == "audit.disk_full"
    with pytest.raises(AgentorError) as again:
        log.append(event(0, detail={"pad": "x" * 4000}))
    assert again.value.code == "audit.disk_full"
    log.close()
    report = verify_path(db, signer.verifier)
    assert report.size == committed
    assert report.first_bad_sequence is None


def test_read_only_store_fails_closed(tmp_path: Path, signer: NoteSigner) -> None:
    log = AuditLog(tmp_path / "a.db", signer)
    log.append(event(0))
    # Tests run as root, for whom file modes do not bite; query_only makes SQLite
    # itself refuse writes with SQLITE_READONLY, the error a read-only mount gives.
    log._db.execute("PRAGMA query_only = 1")
    with pytest.raises(AgentorError) as excinfo:
        log.append(event(1))
    assert excinfo.value.code == "audit.store_read_only"
    log._db.execute("PRAGMA query_only = 0")
    assert log.append(event(1)).sequence == 1
    log.close()


def test_append_after_close_is_refused(tmp_path: Path, signer: NoteSigner) -> None:
    log = AuditLog(tmp_path / "a.db", signer)
    log.close()
    with pytest.raises(AgentorError) as excinfo:
        log.append(event(0))
    assert excinfo.value.code == "audit.store_closed"


def test_unrepresentable_event_is_refused(tmp_path: Path, signer: NoteSigner) -> None:
    with AuditLog(tmp_path / "a.db", signer) as log:
        with pytest.raises(AgentorError) as excinfo:
            log.append(event(0, detail={"n": 2**60}))
        assert excinfo.value.code == "audit.invalid_event"
        assert log.append(event(1)).sequence == 0


def test_secrets_and_fields_never_reach_the_store(tmp_path: Path, signer: NoteSigner) -> None:
    secret = "sk-live-5f2b9c7d1e"  # noqa: S105 - a made-up value to redact
    redactor = Redactor({"api": secret}, fields=["Password"])
    arguments = {"url": f"https://x/?key={secret}", "password": "hunter2", "n": 1}
    db = tmp_path / "a.db"
    with AuditLog(db, signer, redactor=redactor) as log:
        log.append(event(0, arguments=arguments, detail={"note": f"used {secret}"}))
        with StoreReader(db) as reader:
            data = reader.record(0)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert secret.encode() not in raw
    assert b"hunter2" not in raw
    assert data is not None
    stored = json.loads(data)["event"]
    assert stored["arguments"] == {
        "url": "https://x/?key=[REDACTED:api]",
        "password": "[REDACTED]",
        "n": 1,
    }
    assert stored["detail"] == {"note": "used [REDACTED:api]"}
    # A holder of the real arguments proves them against the digest.
    assert stored["argument_digest"] == hashlib.sha256(canonical_json(arguments)).hexdigest()


def test_proofs_from_the_store_verify_offline(tmp_path: Path, signer: NoteSigner) -> None:
    db = tmp_path / "a.db"
    with AuditLog(db, signer, checkpoint_every=300, checkpoint_seconds=1e9) as log:
        log.append_many([event(i) for i in range(700)])
        log.checkpoint()
        log.append_many([event(i) for i in range(700, 1000)])
    with StoreReader(db) as reader:
        for seq in (0, 255, 256, 699, 999):
            proof = inclusion_proof_text(reader, seq)
            record = reader.record(seq)
            assert record is not None
            assert verify_inclusion_text(proof, record, signer.verifier).index == seq
            with pytest.raises(AgentorError):
                verify_inclusion_text(proof, record + b" ", signer.verifier)
        old, new = verify_consistency_text(consistency_proof_text(reader, 700), signer.verifier)
        assert (old.size, new.size) == (700, 1000)
        with pytest.raises(AgentorError) as excinfo:
            inclusion_proof_text(reader, 5000)
        assert excinfo.value.code == "audit.proof_unavailable"


def test_export_import_round_trip(tmp_path: Path, signer: NoteSigner) -> None:
    db = tmp_path / "a.db"
    with AuditLog(db, signer, checkpoint_every=50) as log:
        log.append_many([event(i, detail={"f": 1.5, "k\u00e9": [True, None]}) for i in range(120)])
    export = tmp_path / "log.jsonl"
    with export.open("wb") as out:
        assert export_jsonl(db, out) == 120
    assert verify_path(export, signer.verifier).ok
    copy = tmp_path / "copy.db"
    assert import_jsonl(export, copy, signer.verifier).ok
    report = verify_path(copy, signer.verifier)
    assert report.ok
    assert report.root == verify_path(db, signer.verifier).root
    with pytest.raises(AgentorError) as excinfo:
        import_jsonl(export, copy, signer.verifier)
    assert excinfo.value.code == "audit.import_refused"


def test_entry_point_factory_uses_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    sink = create(AuditSink)
    try:
        assert sink.append(event(0)).sequence == 0
    finally:
        sink.close()
    folder = tmp_path / "state" / "audit"
    verifier = load_verifier(folder / "checkpoint.key.pub")
    assert verify_path(folder / "audit.db", verifier).ok


def test_reader_maps_sqlite_errors_to_a_code(tmp_path: Path, signer: NoteSigner) -> None:
    with AuditLog(tmp_path / "a.db", signer) as log:
        log.append(event(0))
    con = sqlite3.connect(tmp_path / "a.db")
    with con:
        con.execute("DROP TABLE events")
    con.close()
    with StoreReader(tmp_path / "a.db") as reader:
        for read in (reader.count, lambda: list(reader.rows())):
            with pytest.raises(AgentorError) as caught:
                read()
            assert caught.value.code == "audit.log_unreadable"
            assert "cannot read" in caught.value.message


def test_another_log_signed_by_the_same_key_is_refused_by_origin(
    tmp_path: Path, signer: NoteSigner
) -> None:
    # One key signs two logs; the auditor names the one they were promised.
    for name in ("prod", "staging"):
        with AuditLog(tmp_path / f"{name}.db", signer, origin=f"example.com/{name}") as log:
            log.append(event(0))
    promised = "example.com/prod"
    assert verify_path(tmp_path / "prod.db", signer.verifier, expected_origin=promised).ok
    swapped = verify_path(tmp_path / "staging.db", signer.verifier, expected_origin=promised)
    assert not swapped.ok
    assert swapped.first_bad_sequence == 0
    assert swapped.reason is not None
    assert "example.com/staging" in swapped.reason
    # Without the expectation the substituted log verifies: the option is what catches it.
    assert verify_path(tmp_path / "staging.db", signer.verifier).ok
