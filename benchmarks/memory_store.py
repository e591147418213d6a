"""Memory store: add and search latency at 10,000 records in one namespace.

Stores compared in the same run: the SQLite store with FTS5 (the default), the
same store on its LIKE fallback (the baseline FTS5 must beat), and the
in-memory store. Adds are single transactions with synchronous=FULL (each one
durable), so they measure the disk's fsync as much as the store. Searches ask
for two words, top 10. The load average is printed: a busy shared machine
moves every figure.

Usage: python benchmarks/memory_store.py [--records N] [--searches N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agentor_core.labels import Label, LabelSet, Source
from agentor_memory import InMemoryStore, MemoryLimits, SqliteMemoryStore, new_record

# A vocabulary of 5,000 made-up words; each note holds 12 of them, spread by a
# multiplicative hash, so a two-word query matches tens of notes, not all of them.
WORDS = [f"w{n:04d}x" for n in range(5000)]


def text(i: int) -> str:
    picked = [WORDS[(i * 2654435761 + k * 40503) % len(WORDS)] for k in range(12)]
    return f"note {i}: " + " ".join(picked)


def percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50_us": round(statistics.median(samples) * 1e6, 1),
        "p95_us": round(samples[int(len(samples) * 0.95) - 1] * 1e6, 1),
    }


def measure(store: Any, records: int, searches: int) -> dict[str, Any]:
    labels = LabelSet.of(Label.of(Source.UNTRUSTED_TOOL))
    adds: list[float] = []
    for i in range(records):
        record = new_record("bench", text(i), labels)
        start = time.perf_counter()
        store.add(record)
        adds.append(time.perf_counter() - start)
    queries = [
        f"{WORDS[(i * 97) % len(WORDS)]} {WORDS[(i * 31) % len(WORDS)]}" for i in range(searches)
    ]
    found: list[float] = []
    for query in queries:
        start = time.perf_counter()
        store.search("bench", query, limit=10)
        found.append(time.perf_counter() - start)
    return {"add": percentiles(adds), "search": percentiles(found)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=300)
    args = parser.parse_args()
    limits = MemoryLimits(max_records_per_namespace=args.records)
    result: dict[str, Any] = {
        "records": args.records,
        "searches": args.searches,
        "load_average": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as folder:
        for name, fts in (("sqlite_fts5", True), ("sqlite_like_baseline", False)):
            path = Path(folder) / f"{name}.db"
            with SqliteMemoryStore(path, limits, fts=fts) as store:
                result[name] = measure(store, args.records, args.searches)
                result[name]["file_bytes"] = store.stats().bytes
    result["in_memory"] = measure(InMemoryStore(limits), args.records, args.searches)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
