"""The five example tools: build time, component size, and call latency through the sandbox.

For each example under examples/tools/: the componentize-py build time (with
``--fresh``; otherwise the test-fixture cache is reused and the build time is
null), the component size, and the p50/p99 latency of a call through
agentor-sandbox on a fresh instance (pool off) and with the sandbox's
pre-instantiated pool. Baseline in the same run: the same tool function called
in this process under CPython through the guest SDK's dispatch (no sandbox);
for fetch_page, the same request sent through the egress guard alone.
Prints JSON. Usage: python benchmarks/toolkit_examples.py [--calls N] [--fresh]
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from agentor_core import Capabilities, HttpRequest, NetworkDestination, PathAccess, ToolCall
from agentor_core.paths import cache_dir
from agentor_egress import HttpEgressGuard
from agentor_sandbox import SandboxRuntime
from agentor_toolkit.build import BuildResult, build, build_cached
from agentor_toolkit.guest import dispatch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "tools"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><head><title>t</title></head><body><p>Hello, world.</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(statistics.median(ordered) * 1e6, 1),
        "p99_us": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1e6, 1),
        "n": len(ordered),
    }


def measure(fn: Callable[[], object], n: int) -> dict[str, float]:
    for _ in range(min(10, n)):
        fn()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--fresh", action="store_true", help="really build every example")
    args = parser.parse_args()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = int(httpd.server_address[1])
    url = f"http://127.0.0.1:{port}/"
    local = NetworkDestination(
        scheme="http", host="127.0.0.1", port=port, address_ranges=("127.0.0.1/32",)
    )

    work = Path(tempfile.mkdtemp(prefix="agentor-bench-"))
    (work / "data").mkdir()
    for index in range(20):
        (work / "data" / f"f{index}.txt").write_text("alpha\nbeta needle\ngamma\n" * 20)
    files = Capabilities(filesystem=(PathAccess(guest_path="/data", host_path=str(work / "data")),))
    cases: dict[str, tuple[str, dict[str, Any], Capabilities]] = {
        "calculator": ("calculate", {"expression": "2 * (3 + 4) ** 2 / sqrt(16)"}, Capabilities()),
        "json_query": (
            "json_query",
            {"document": json.dumps({"a": [{"b": i} for i in range(50)]}), "path": "$.a[*].b"},
            Capabilities(),
        ),
        "csv_summary": (
            "csv_summary",
            {"csv_text": "x,y\n" + "".join(f"{i},{i % 7}\n" for i in range(200))},
            Capabilities(),
        ),
        "search_files": ("search_files", {"pattern": "needle"}, files),
        "fetch_page": ("fetch_page", {"url": url}, Capabilities(network=(local,))),
    }

    results: dict[str, Any] = {}
    built: dict[str, BuildResult] = {}
    for name in cases:
        if args.fresh:
            built[name] = build(EXAMPLES / name, work / f"{name}.wasm")
        else:
            built[name] = build_cached(EXAMPLES / name, cache_dir() / "test-fixtures" / "toolkit")

    with HttpEgressGuard() as guard:
        for name, (tool, arguments, grant) in cases.items():
            result = built[name]
            entry: dict[str, Any] = {
                "component_bytes": result.size,
                "build_seconds": None if result.cached else round(result.seconds, 1),
            }
            for label, pool in (("sandbox_fresh_instance", 0), ("sandbox_pooled", None)):
                options: dict[str, Any] = {
                    "cache_dir": cache_dir() / "test-fixtures" / "sandbox-compile-cache",
                    "egress_guard": guard,
                }
                if pool is not None:
                    options["pool_size"] = pool
                with SandboxRuntime([result.path], **options) as rt:
                    call = ToolCall(id="b", tool=tool, arguments=arguments)
                    check = rt.invoke(call, grant)
                    if check.error is not None:
                        raise SystemExit(f"{name}: {check.error}")
                    entry[label] = measure(
                        lambda rt=rt, call=call, grant=grant: rt.invoke(call, grant), args.calls
                    )
            if name == "fetch_page":
                request = HttpRequest(url=url)
                entry["baseline_egress_only"] = measure(
                    lambda request=request: guard.send(request, Capabilities(network=(local,))),
                    args.calls,
                )
            else:
                sys.path.insert(0, str(EXAMPLES / name))
                module = importlib.import_module(name)
                if name == "search_files":
                    module.ROOT = str(work / "data")
                raw = json.dumps(arguments)
                entry["baseline_cpython_in_process"] = measure(
                    lambda tool=tool, raw=raw: dispatch.call(tool, raw), args.calls
                )
            results[name] = entry
    httpd.shutdown()
    print(
        json.dumps(
            {"benchmark": "toolkit_examples", "calls": args.calls, "tools": results}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
