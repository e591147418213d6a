"""Append throughput of agentor-audit vs plain SQLite inserts of the same rows, in one run.

Both sides use WAL with synchronous=FULL (every commit fsynced) and commit in
batches of --batch rows. Ours also redacts, canonicalises (RFC 8785), hashes
into the Merkle tree, stores subtree hashes and signs checkpoints.

    python benchmarks/audit_append.py [--events 100000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from agentor_audit import AuditLog, NoteSigner
from agentor_core.audit import AuditEvent, AuditEventType


def events(n: int) -> list[AuditEvent]:
    now = datetime.now(UTC)
    return [
        AuditEvent(
            type=AuditEventType.DECISION,
            time=now,
            session_id="session-1",
            tool="fetch",
            call_id=f"call-{i}",
            arguments={"url": f"https://example.com/items/{i}", "method": "GET"},
            verdict="allow",
            rule_id="allow-example",
            outcome="ok",
        )
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    batch = events(args.events)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "audit.db"
        log = AuditLog(db, NoteSigner.generate("bench"), durability="full")
        # CPU seconds as well as wall time: on a shared machine the wall clock
        # also counts the time other processes held the cores.
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(batch), args.batch):
            log.append_many(batch[i : i + args.batch])
        ours, ours_cpu = time.perf_counter() - started, time.process_time() - cpu
        log.close()
        reader = sqlite3.connect(db)
        rows = reader.execute("SELECT seq, leaf, data FROM events ORDER BY seq").fetchall()
        reader.close()

        plain = sqlite3.connect(Path(tmp) / "plain.db", isolation_level=None)
        plain.execute("PRAGMA journal_mode=WAL")
        plain.execute("PRAGMA synchronous=FULL")
        plain.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, leaf BLOB, data BLOB)")
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(rows), args.batch):
            plain.execute("BEGIN IMMEDIATE")
            plain.executemany("INSERT INTO events VALUES (?, ?, ?)", rows[i : i + args.batch])
            plain.execute("COMMIT")
        baseline, baseline_cpu = time.perf_counter() - started, time.process_time() - cpu
        plain.close()

        single = AuditLog(Path(tmp) / "single.db", NoteSigner.generate("bench"))
        n_single = min(2000, args.events)
        started = time.perf_counter()
        for event in batch[:n_single]:
            single.append(event)
        one_by_one = time.perf_counter() - started
        single.close()
    print(
        json.dumps(
            {
                "benchmark": "audit_append",
                "events": args.events,
                "batch": args.batch,
                "durability": "full (synchronous=FULL, WAL)",
                "audit_events_per_s": round(args.events / ours),
                "plain_sqlite_rows_per_s": round(args.events / baseline),
                "ratio_audit_to_plain": round(baseline / ours, 3),
                "audit_events_per_cpu_s": round(args.events / ours_cpu),
                "plain_sqlite_rows_per_cpu_s": round(args.events / baseline_cpu),
                "unbatched_append_events_per_s": round(n_single / one_by_one),
                "target_events_per_s": 20_000,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
