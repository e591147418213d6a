"""What verifying a generic component's signature costs, against hashing its bytes alone.

A version-2 (`generic`) verification hashes the component, reflects its tools
through agentor-sandbox (a compile-cache load once the component was compiled)
and reads its sidecar; the baseline is SHA-256 of the same bytes, the floor of
any verification. Prints JSON.

    python benchmarks/toolkit_sign_generic.py COMPONENT.wasm [--runs 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agentor_toolkit.signing import TrustStore, keygen, sign, verify


def _median_ms(runs: int, work: Callable[[], object]) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(samples), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("component", type=Path)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        component = folder / args.component.name
        component.write_bytes(args.component.read_bytes())
        private, public, _kid = keygen(folder / "key")
        trust = TrustStore.from_paths([public])
        start = time.perf_counter()
        _path, document = sign(component, private)
        sign_ms = round((time.perf_counter() - start) * 1000, 3)
        verify(component, trust)  # warm: the first reflection compiles into the cache
        data = component.read_bytes()
        verify_ms = _median_ms(args.runs, lambda: verify(component, trust))
        hash_ms = _median_ms(args.runs, lambda: hashlib.sha256(data).hexdigest())
    print(
        json.dumps(
            {
                "component_bytes": len(data),
                "signature": f"{document.format} {document.kind or ''}".strip(),
                "sign_first_ms": sign_ms,
                "verify_p50_ms": verify_ms,
                "baseline_sha256_p50_ms": hash_ms,
                "runs": args.runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
