"""Egress guard overhead per request, against bare httpx to the same local server.

Both clients keep connections alive; requests alternate between them one by
one, so load on the machine hits both alike. The server runs in its own
process, so it does not compete with the clients for this interpreter's GIL.
Prints JSON: median microseconds per request for each, and their ratio
(target: guard / bare <= 1.2).

Usage: python benchmarks/egress_overhead.py [--pairs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from agentor_core.capabilities import Capabilities, NetworkDestination
from agentor_core.egress import HttpRequest
from agentor_egress import HttpEgressGuard

BODY = b'{"ok": true, "items": [1, 2, 3]}'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


def timed_us(send: Any) -> tuple[float, float]:
    """Wall-clock and this process's CPU time of one request, in microseconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    send()
    return (time.perf_counter() - wall) * 1e6, (time.process_time() - cpu) * 1e6


def serve() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if server.stdout is None or server.stdin is None:
        raise SystemExit("could not start the server process")
    port = int(server.stdout.readline())
    url = f"http://127.0.0.1:{port}/items?page=1"

    grant = Capabilities(
        network=(
            NetworkDestination.model_validate(
                {
                    "scheme": "http",
                    "host": "127.0.0.1",
                    "port": port,
                    "address_ranges": ["127.0.0.1/32"],
                }
            ),
        )
    )
    request = HttpRequest(url=url, headers=(("Accept", "application/json"),))
    bare = httpx.Client(trust_env=False)
    guard = HttpEgressGuard()

    def send_bare() -> None:
        response = bare.get(url, headers={"Accept": "application/json"})
        if response.content != BODY:
            raise SystemExit("bare httpx got an unexpected body")

    def send_guarded() -> None:
        if guard.send(request, grant).body != BODY:
            raise SystemExit("the guard got an unexpected body")

    for _ in range(50):  # warm up: connections, imports, caches
        send_bare()
        send_guarded()
    bare_us: list[tuple[float, float]] = []
    guard_us: list[tuple[float, float]] = []
    # Request by request, alternating (and swapping who goes first), so a change in
    # machine load hits both clients alike; medians discard scheduler hiccups.
    for index in range(args.pairs):
        first, second = (send_bare, send_guarded) if index % 2 else (send_guarded, send_bare)
        for send in (first, second):
            (bare_us if send is send_bare else guard_us).append(timed_us(send))
    bare.close()
    guard.close()
    server.stdin.close()
    server.wait(10)

    bare_median = statistics.median(w for w, _ in bare_us)
    guard_median = statistics.median(w for w, _ in guard_us)
    # CPU time spent in this process is what the guard adds; it is insensitive
    # to other load on the machine, unlike wall-clock time.
    bare_cpu = statistics.median(c for _, c in bare_us)
    guard_cpu = statistics.median(c for _, c in guard_us)
    json.dump(
        {
            "benchmark": "egress_overhead",
            "python": sys.version.split()[0],
            "httpx": httpx.__version__,
            "requests_each": args.pairs,
            "bare_httpx_us_median": round(bare_median, 1),
            "guard_us_median": round(guard_median, 1),
            "overhead_us": round(guard_median - bare_median, 1),
            "ratio": round(guard_median / bare_median, 3),
            "bare_httpx_cpu_us_median": round(bare_cpu, 1),
            "guard_cpu_us_median": round(guard_cpu, 1),
            "cpu_ratio": round(guard_cpu / bare_cpu, 3),
            "target_ratio": 1.2,
        },
        sys.stdout,
        indent=2,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
