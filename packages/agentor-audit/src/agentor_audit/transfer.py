"""JSON Lines export and import.

Line 1: ``{"format": "agentor-audit/1", "kind": "header", "origin": …}``; then one
``{"kind": "event", "leaf_hash": …, "record": {"event": …, "sequence": n}}`` per
event, where ``record`` is the exact leaf data (its RFC 8785 form hashes to the
leaf); then ``{"kind": "checkpoint", "note": …}`` per signed checkpoint.
Import verifies the whole export against the key before writing anything.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import IO

from agentor_audit.codes import AuditCode
from agentor_audit.merkle import Frontier
from agentor_audit.note import NoteVerifier
from agentor_audit.store import FORMAT, SCHEMA, TILE_LEVEL, StoreReader, map_sqlite_error
from agentor_audit.verify import VerifyReport, load_jsonl, verify_entries
from agentor_core.errors import AgentorError


def export_jsonl(store: Path, out: IO[bytes], *, start: int = 0) -> int:
    """Write the store as JSON Lines to ``out``; returns the number of events written."""
    count = 0
    with StoreReader(store) as reader:
        header = {"format": FORMAT, "kind": "header", "origin": reader.origin}
        out.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        for _seq, leaf, data in reader.rows(start):
            # The record is embedded byte for byte: no re-encoding can change it.
            out.write(
                b'{"kind":"event","leaf_hash":"'
                + leaf.hex().encode()
                + b'","record":'
                + data
                + b"}\n"
            )
            count += 1
        for note in reader.checkpoints():
            out.write(
                json.dumps({"kind": "checkpoint", "note": note}, ensure_ascii=False).encode()
                + b"\n"
            )
    return count


def import_jsonl(source: Path, dest: Path, verifier: NoteVerifier) -> VerifyReport:
    """Verify ``source`` against ``verifier``, then write it into a new store at ``dest``."""
    log = load_jsonl(source)
    report = verify_entries(log.entries, log.notes, verifier, origin=log.origin)
    if not report.ok:
        raise AgentorError(
            AuditCode.IMPORT_REFUSED,
            f"{source} failed verification at sequence {report.first_bad_sequence}: "
            f"{report.reason}",
            hint="import only exports that 'agentor audit verify' accepts",
        )
    if dest.exists():
        raise AgentorError(
            AuditCode.IMPORT_REFUSED, f"{dest} already exists", hint="import into a new file"
        )
    try:
        db = sqlite3.connect(dest, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA:
                db.execute(statement)
            frontier = Frontier()
            tiles: list[tuple[int, int, bytes]] = []

            def completed(level: int, index: int, digest: bytes) -> None:
                if level >= TILE_LEVEL:
                    tiles.append((level, index, digest))

            rows = []
            for entry in log.entries:
                if (
                    entry.data is None or entry.stored_leaf is None
                ):  # pragma: no cover - verified above
                    raise AgentorError(
                        AuditCode.IMPORT_REFUSED, "unreadable entry", hint="re-export"
                    )
                frontier.append(entry.stored_leaf, completed)
                rows.append((entry.sequence, entry.stored_leaf, entry.data))
            db.executemany("INSERT INTO events (seq, leaf, data) VALUES (?, ?, ?)", rows)
            db.executemany("INSERT INTO subtrees (level, idx, hash) VALUES (?, ?, ?)", tiles)
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("format", FORMAT),
                    ("origin", log.origin),
                    ("size", frontier.size),
                    ("frontier", frontier.pack()),
                ],
            )
            for _source, note in log.notes:
                size = int(note.split("\n", 2)[1])
                db.execute(
                    "INSERT OR IGNORE INTO checkpoints (size, note) VALUES (?, ?)", (size, note)
                )
            db.execute("COMMIT")
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise map_sqlite_error(exc, dest) from None
    return report
