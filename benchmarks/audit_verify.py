"""Offline verification time and proof size/time for a log of N events.

Builds a store of --events events (checkpoint every 1000), then times a full
verification (every leaf rehashed, the tree rebuilt, every checkpoint checked)
against the baseline of merely reading every row, and times inclusion and
consistency proofs at the final size.

    python benchmarks/audit_verify.py [--events 100000]     # quick
    python benchmarks/audit_verify.py --events 1000000      # the figure in the README
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from agentor_audit import (
    AuditLog,
    NoteSigner,
    StoreReader,
    load_signer,
    verify_path,
    write_key_files,
)
from agentor_audit.proofs import (
    consistency_proof_text,
    inclusion_proof_text,
    verify_consistency_text,
    verify_inclusion_text,
)
from agentor_core.audit import AuditEvent, AuditEventType


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument(
        "--store", type=Path, help="keep the generated store here and reuse it if it exists"
    )
    args = parser.parse_args()
    n = args.events
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.store or Path(tmp) / "audit.db"
        key = db.with_name(db.name + ".key")
        reuse = db.exists() and key.exists()
        signer = load_signer(key) if reuse else NoteSigner.generate("bench")
        if not reuse and args.store is not None:
            write_key_files(signer, key)
        started = time.perf_counter()
        with AuditLog(db, signer, durability="normal", checkpoint_every=1000) as log:
            chunk = 5000
            for start in range(log.size, n, chunk):
                log.append_many(
                    [
                        AuditEvent(
                            type=AuditEventType.RESULT,
                            time=now,
                            tool="fetch",
                            call_id=f"call-{i}",
                            outcome="ok",
                            result_digest="0" * 64,
                        )
                        for i in range(start, min(n, start + chunk))
                    ]
                )
        build = time.perf_counter() - started

        started, cpu = time.perf_counter(), time.process_time()
        with StoreReader(db) as reader:
            rows = sum(1 for _ in reader.rows())
        read_only, read_cpu = time.perf_counter() - started, time.process_time() - cpu

        # CPU seconds as well as wall time: on a shared machine the wall clock
        # also counts the time other processes held the cores.
        started, cpu = time.perf_counter(), time.process_time()
        report = verify_path(db, signer.verifier)
        verify, verify_cpu = time.perf_counter() - started, time.process_time() - cpu
        if not report.ok or report.size != n or rows != n:
            raise SystemExit(f"verification failed: {report}")

        step = max(1, n // args.proofs)
        sequences = list(range(0, n, step))[: args.proofs]
        with StoreReader(db) as reader:
            started = time.perf_counter()
            proofs = [inclusion_proof_text(reader, s) for s in sequences]
            make_inclusion = (time.perf_counter() - started) / len(sequences)
            records = [reader.record(s) or b"" for s in sequences]
            started = time.perf_counter()
            for proof, record in zip(proofs, records, strict=True):
                verify_inclusion_text(proof, record, signer.verifier)
            check_inclusion = (time.perf_counter() - started) / len(sequences)
            hashes = proofs[len(proofs) // 2].split("\n\n")[0].count("\n") - 1
            started = time.perf_counter()
            first = int(reader.checkpoints()[0].split("\n")[1])
            consistency = consistency_proof_text(reader, first)
            make_consistency = time.perf_counter() - started
            started = time.perf_counter()
            verify_consistency_text(consistency, signer.verifier)
            check_consistency = time.perf_counter() - started
    print(
        json.dumps(
            {
                "benchmark": "audit_verify",
                "events": n,
                "build_s": round(build, 2),
                "build_reused": reuse,
                "read_rows_baseline_s": round(read_only, 2),
                "verify_s": round(verify, 2),
                "verify_over_read_ratio": round(verify / read_only, 2),
                "read_rows_baseline_cpu_s": round(read_cpu, 2),
                "verify_cpu_s": round(verify_cpu, 2),
                "verify_target_s_at_1M": 10,
                "checkpoints_verified": report.checkpoints_verified,
                "inclusion_proof_hashes": hashes,
                "inclusion_proof_bytes": len(proofs[len(proofs) // 2].encode()),
                "inclusion_proof_make_ms": round(make_inclusion * 1000, 3),
                "inclusion_proof_verify_ms": round(check_inclusion * 1000, 3),
                "consistency_from_size": first,
                "consistency_proof_bytes": len(consistency.encode()),
                "consistency_proof_make_ms": round(make_consistency * 1000, 3),
                "consistency_proof_verify_ms": round(check_consistency * 1000, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
