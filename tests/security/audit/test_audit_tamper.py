"""Tamper corpus: each alteration of a store or an export is caught at the right sequence number."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentor_audit import AuditLog, NoteSigner, Problem, verify_path
from agentor_audit.merkle import root_from_leaf_hashes
from agentor_audit.note import Checkpoint
from agentor_audit.transfer import export_jsonl
from agentor_core.audit import AuditEvent, AuditEventType
from agentor_core.canonical import canonical_json

SIZE = 100
EVERY = 25  # checkpoints at 25, 50, 75, 100


def event(i: int) -> AuditEvent:
    return AuditEvent(
        type=AuditEventType.DECISION,
        time=datetime(2026, 11, 27, tzinfo=UTC),
        tool="fetch",
        call_id=f"call-{i}",
        verdict="allow",
        rule_id="allow-fetch",
        arguments={"i": i},
    )


@pytest.fixture
def signer() -> NoteSigner:
    return NoteSigner.generate("test.example/audit")


@pytest.fixture
def store(tmp_path: Path, signer: NoteSigner) -> Path:
    db = tmp_path / "a.db"
    with AuditLog(
        db,
        signer,
        durability="normal",  # fsync has no bearing on tamper detection
        checkpoint_every=EVERY,
        checkpoint_seconds=1e9,
        witness_dir=tmp_path / "witness",
    ) as log:
        for i in range(SIZE):
            log.append(event(i))
    return db


def sql(db: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    con = sqlite3.connect(db)
    with con:
        for statement, args in statements:
            con.execute(statement, args)
    con.close()


def row(db: Path, seq: int) -> tuple[bytes, bytes]:
    con = sqlite3.connect(db)
    leaf, data = con.execute("SELECT leaf, data FROM events WHERE seq = ?", (seq,)).fetchone()
    con.close()
    return bytes(leaf), bytes(data)


def leaf_of(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def edit_field(db: Path) -> None:
    _, data = row(db, 37)
    sql(db, ("UPDATE events SET data = ? WHERE seq = 37", (data.replace(b"call-37", b"call-99"),)))


def edit_field_and_leaf(db: Path) -> None:
    _, data = row(db, 37)
    forged = data.replace(b'"allow"', b'"deny"')
    sql(db, ("UPDATE events SET data = ?, leaf = ? WHERE seq = 37", (forged, leaf_of(forged))))


def delete_event(db: Path) -> None:
    sql(db, ("DELETE FROM events WHERE seq = 37", ()))


def delete_and_renumber(db: Path) -> None:
    sql(
        db,
        ("DELETE FROM events WHERE seq = 37", ()),
        ("UPDATE events SET seq = seq - 1 WHERE seq > 37", ()),
    )


def swap_two(db: Path) -> None:
    a, b = row(db, 40), row(db, 41)
    sql(
        db,
        ("UPDATE events SET leaf = ?, data = ? WHERE seq = 40", b),
        ("UPDATE events SET leaf = ?, data = ? WHERE seq = 41", a),
    )


def insert_one(db: Path) -> None:
    _, data = row(db, 60)
    forged = data.replace(b"call-60", b"call-inserted")
    sql(
        db,
        ("UPDATE events SET seq = -seq - 1 WHERE seq >= 60", ()),
        ("UPDATE events SET seq = -seq WHERE seq < 0", ()),
        ("INSERT INTO events (seq, leaf, data) VALUES (60, ?, ?)", (leaf_of(forged), forged)),
    )


def truncate_tail(db: Path) -> None:
    sql(db, ("DELETE FROM events WHERE seq >= 90", ()))


def replace_checkpoint(db: Path) -> None:
    con = sqlite3.connect(db)
    (note,) = con.execute("SELECT note FROM checkpoints WHERE size = 50").fetchone()
    con.close()
    lines = note.split("\n")
    lines[2] = "A" * 43 + "="  # another root, same signature
    sql(db, ("UPDATE checkpoints SET note = ? WHERE size = 50", ("\n".join(lines),)))


CORPUS: list[tuple[str, Callable[[Path], None], int, Problem]] = [
    ("edit one field", edit_field, 37, Problem.LEAF_MISMATCH),
    ("edit a field and its leaf hash", edit_field_and_leaf, 25, Problem.CHECKPOINT_ROOT),
    ("delete an event", delete_event, 37, Problem.MISSING_EVENT),
    ("delete an event and renumber", delete_and_renumber, 37, Problem.WRONG_POSITION),
    ("swap two events", swap_two, 40, Problem.WRONG_POSITION),
    ("insert an event", insert_one, 60, Problem.WRONG_POSITION),
    ("truncate the tail", truncate_tail, 90, Problem.TRUNCATED),
    ("replace a checkpoint", replace_checkpoint, 25, Problem.CHECKPOINT_SIGNATURE),
]


def test_untouched_store_verifies(store: Path, signer: NoteSigner) -> None:
    report = verify_path(store, signer.verifier, witness=store.parent / "witness")
    assert report.ok
    assert report.attested_size == SIZE
    assert report.checkpoints_verified == 4


@pytest.mark.parametrize(
    ("name", "tamper", "first_bad", "problem"), CORPUS, ids=[c[0] for c in CORPUS]
)
def test_store_tampering_is_found_at_the_right_sequence(
    store: Path,
    signer: NoteSigner,
    name: str,
    tamper: Callable[[Path], None],
    first_bad: int,
    problem: Problem,
) -> None:
    tamper(store)
    report = verify_path(store, signer.verifier, witness=store.parent / "witness")
    assert not report.ok, name
    assert report.first_bad_sequence == first_bad, report.reason
    assert report.problem is problem, report.reason


def test_forged_checkpoint_with_another_key_is_refused(store: Path, signer: NoteSigner) -> None:
    # The attacker rewrites event 60 and re-signs checkpoints 75 and 100 with their own key.
    _, data = row(store, 60)
    forged = data.replace(b"call-60", b"call-xx")
    sql(store, ("UPDATE events SET data = ?, leaf = ? WHERE seq = 60", (forged, leaf_of(forged))))
    con = sqlite3.connect(store)
    leaves = [bytes(r[0]) for r in con.execute("SELECT leaf FROM events ORDER BY seq")]
    origin = con.execute("SELECT value FROM meta WHERE key = 'origin'").fetchone()[0]
    con.close()
    mallory = NoteSigner.generate(signer.name)  # same name, different key
    for size in (75, 100):
        note = Checkpoint(origin=origin, size=size, root=root_from_leaf_hashes(leaves[:size])).sign(
            mallory
        )
        sql(store, ("UPDATE checkpoints SET note = ? WHERE size = ?", (note, size)))
    shutil.rmtree(store.parent / "witness")
    report = verify_path(store, signer.verifier)
    assert not report.ok
    assert report.first_bad_sequence == 50
    assert report.problem is Problem.CHECKPOINT_SIGNATURE


def test_truncation_with_its_checkpoints_is_caught_by_the_witness(
    store: Path, signer: NoteSigner
) -> None:
    sql(
        store,
        ("DELETE FROM events WHERE seq >= 80", ()),
        ("DELETE FROM checkpoints WHERE size > 80", ()),
    )
    alone = verify_path(store, signer.verifier)
    assert alone.ok  # consistent on its own: only an outside copy can tell
    assert alone.unattested == 5
    report = verify_path(store, signer.verifier, witness=store.parent / "witness")
    assert not report.ok
    assert report.first_bad_sequence == 80
    assert report.problem is Problem.TRUNCATED


def test_rollback_to_an_earlier_consistent_state_is_caught(
    tmp_path: Path, signer: NoteSigner
) -> None:
    db, witness, saved = tmp_path / "a.db", tmp_path / "witness", tmp_path / "saved.db"
    with AuditLog(
        db, signer, checkpoint_every=EVERY, checkpoint_seconds=1e9, witness_dir=witness
    ) as log:
        for i in range(50):
            log.append(event(i))
    shutil.copy(db, saved)
    with AuditLog(
        db, signer, checkpoint_every=EVERY, checkpoint_seconds=1e9, witness_dir=witness
    ) as log:
        for i in range(50, SIZE):
            log.append(event(i))
    shutil.copy(saved, db)  # the whole store, checkpoints included, as it was at 50
    assert verify_path(db, signer.verifier).ok
    report = verify_path(db, signer.verifier, witness=witness)
    assert not report.ok
    assert report.first_bad_sequence == 50
    assert report.problem is Problem.TRUNCATED


@pytest.fixture
def export(store: Path) -> Path:
    path = store.parent / "log.jsonl"
    with path.open("wb") as out:
        export_jsonl(store, out)
    return path


def edit_lines(path: Path, change: Callable[[list[str]], list[str]]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")


def jsonl_edit(lines: list[str]) -> list[str]:
    lines[1 + 37] = lines[1 + 37].replace('"allow"', '"deny"')
    return lines


def jsonl_delete(lines: list[str]) -> list[str]:
    return lines[: 1 + 37] + lines[2 + 37 :]


def jsonl_swap(lines: list[str]) -> list[str]:
    lines[41], lines[42] = lines[42], lines[41]
    return lines


def jsonl_insert(lines: list[str]) -> list[str]:
    record = json.loads(lines[1 + 60])
    record["record"]["event"]["call_id"] = "inserted"
    record["leaf_hash"] = leaf_of(canonical_json(record["record"])).hex()  # a careful forger
    return [*lines[: 1 + 60], json.dumps(record), *lines[1 + 60 :]]


def jsonl_truncate(lines: list[str]) -> list[str]:
    return [line for line in lines if '"sequence":9' not in line or "checkpoint" in line]


def jsonl_garbage(lines: list[str]) -> list[str]:
    lines[1 + 12] = "{not json"
    return lines


def jsonl_duplicate_key(lines: list[str]) -> list[str]:
    # A reader that keeps the first of two equal keys sees "deny"; json.loads
    # keeps the last, whose bytes hash to the signed leaf. Two readings: refused.
    lines[1 + 44] = lines[1 + 44].replace('"verdict":"allow"', '"verdict":"deny","verdict":"allow"')
    return lines


JSONL_CORPUS: list[tuple[str, Callable[[list[str]], list[str]], int, Problem]] = [
    ("edit one field", jsonl_edit, 37, Problem.LEAF_MISMATCH),
    ("delete a line", jsonl_delete, 37, Problem.MISSING_EVENT),
    ("swap two lines", jsonl_swap, 40, Problem.MISSING_EVENT),
    ("insert a line", jsonl_insert, 60, Problem.DUPLICATE_EVENT),
    ("truncate the tail", jsonl_truncate, 9, Problem.MISSING_EVENT),
    ("garbage line", jsonl_garbage, 12, Problem.MALFORMED_RECORD),
    ("duplicate key", jsonl_duplicate_key, 44, Problem.MALFORMED_RECORD),
]


@pytest.mark.parametrize(
    ("name", "change", "first_bad", "problem"), JSONL_CORPUS, ids=[c[0] for c in JSONL_CORPUS]
)
def test_export_tampering_is_found_at_the_right_sequence(
    export: Path,
    signer: NoteSigner,
    name: str,
    change: Callable[[list[str]], list[str]],
    first_bad: int,
    problem: Problem,
) -> None:
    assert verify_path(export, signer.verifier).ok
    edit_lines(export, change)
    report = verify_path(export, signer.verifier)
    assert not report.ok, name
    assert report.first_bad_sequence == first_bad, report.reason
    assert report.problem is problem, report.reason


def test_export_cut_after_an_event_is_caught_by_its_checkpoints(
    export: Path, signer: NoteSigner
) -> None:
    lines = export.read_text(encoding="utf-8").splitlines()
    events = [line for line in lines if '"kind":"event"' in line]
    others = [line for line in lines if '"kind":"event"' not in line]
    export.write_text("\n".join([others[0], *events[:83], *others[1:]]) + "\n", encoding="utf-8")
    report = verify_path(export, signer.verifier)
    assert report.first_bad_sequence == 83
    assert report.problem is Problem.TRUNCATED
