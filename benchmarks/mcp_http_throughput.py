"""tools/call per second over streamable HTTP (stateless), 1 and 2 worker processes.

`agentor serve --http 127.0.0.1:PORT --stateless --workers N` (the embedded echo:
policy, audit, a fresh sandbox instance per call) against the SDK's plain
`MCPServer` serving the same function over streamable HTTP, stateless, with the
same number of processes accepting on one socket (forked the same way). Both are
driven by the same client: httpx (async) with `--clients` concurrent callers,
each sending JSON-RPC `tools/call` POSTs on its own keep-alive connection. Each
server runs for `--seconds` after a warm-up; servers of one worker count
alternate, twice.

Afterwards the agentor audit log (shared by all its workers) is verified: one
gap-free, signed sequence holding exactly a decision and a result per call
answered.

    python benchmarks/mcp_http_throughput.py [--seconds 5] [--clients 8]
        [--durability full|normal]

Prints JSON, with the load average before and after.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

from agentor_audit.store import StoreReader
from agentor_cli.commands.serve import DEFAULTS_DIR

PLAIN_SERVER = '''
import os, socket, sys
import uvicorn
from mcp.server import MCPServer

app = MCPServer("plain")


@app.tool()
def echo(text: str) -> dict:
    """Returns its arguments unchanged."""
    return {"text": text}


port, workers = int(sys.argv[1]), int(sys.argv[2])
listener = socket.create_server(("127.0.0.1", port), backlog=1024)
for _ in range(workers - 1):
    if os.fork() == 0:
        break
asgi = app.streamable_http_app(stateless_http=True)
config = uvicorn.Config(asgi, log_level="warning", server_header=False)
uvicorn.Server(config).run(sockets=[listener])
'''

HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _result(response: httpx.Response) -> dict[str, Any]:
    response.raise_for_status()
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:"):
                message: dict[str, Any] = json.loads(line[5:])
                if "id" in message:
                    return message
        raise RuntimeError("no JSON-RPC answer in the event stream")
    answer: dict[str, Any] = response.json()
    return answer


async def _drive(url: str, clients: int, seconds: float, warmup: float) -> dict[str, Any]:
    counter = itertools.count(1)
    done = {"calls": 0, "errors": 0, "warm": 0}

    async def caller(until: float, count: bool) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(headers=HEADERS, limits=limits, timeout=30) as client:
            while time.perf_counter() < until:
                n = next(counter)
                body = {
                    "jsonrpc": "2.0",
                    "id": n,
                    "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": f"call {n}"}},
                }
                answer = _result(await client.post(url, json=body))
                ok = answer.get("result", {}).get("isError") is False
                if count:
                    done["calls" if ok else "errors"] += 1
                else:
                    done["warm"] += ok

    for count, span in ((False, warmup), (True, seconds)):
        until = time.perf_counter() + span
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(clients):
                group.start_soon(caller, until, count)
        elapsed = time.perf_counter() - started
    return {
        "calls_per_second": round(done["calls"] / elapsed, 1),
        "calls": done["calls"],
        "errors": done["errors"],
        "warm_up_calls": done["warm"],
        "seconds": round(elapsed, 2),
    }


def _start(
    command: list[str], env: dict[str, str], port: int, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    _wait_listening(process, port)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _verify(audit: Path, key: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "agentor_cli", "audit", "verify", str(audit)),
            *("--key", str(key), "--json"),
        ],
        capture_output=True,
        check=False,
    )
    types: dict[str, int] = {}
    expected = 0
    gaps = 0
    with StoreReader(audit) as reader:
        for sequence, _leaf, data in reader.rows():
            gaps += sequence != expected
            expected = sequence + 1
            record = json.loads(data)
            kind = str(record.get("type") or record.get("event", {}).get("type"))
            types[kind] = types.get(kind, 0) + 1
    report = json.loads(done.stdout or b"{}")
    return {
        "verify_exit": done.returncode,
        "verify": {k: report.get(k) for k in ("ok", "size", "checkpoints", "error")},
        "events": expected,
        "gaps": gaps,
        "by_type": types,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--durability", choices=["full", "normal"], default="full")
    options = parser.parse_args()
    load_before = os.getloadavg()
    figures: dict[str, dict[str, Any]] = {}
    answered = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "AGENTOR_STATE_DIR": str(root / "state"),
            "AGENTOR_CONFIG_DIR": str(root / "config"),
        }
        plain_script = root / "plain_server.py"
        plain_script.write_text(PLAIN_SERVER, encoding="utf-8")
        audit = root / "audit.db"
        text = (DEFAULTS_DIR / "agentor.toml").read_text(encoding="utf-8")
        text = text.replace('file = "', f'file = "{DEFAULTS_DIR}/')
        text += f'\n[audit]\npath = "{audit}"\ndurability = "{options.durability}"\n'
        config = root / "agentor.toml"
        config.write_text(text, encoding="utf-8")
        for workers in (1, 2):
            port = {"plain": _free_port(), "agentor": _free_port()}
            commands = {
                "plain": [sys.executable, str(plain_script), str(port["plain"]), str(workers)],
                "agentor": [
                    sys.executable,
                    "-m",
                    "agentor_cli",
                    "serve",
                    "--config",
                    str(config),
                    "--no-reload",
                    "--stateless",
                    "--http",
                    f"127.0.0.1:{port['agentor']}",
                    "--workers",
                    str(workers),
                ],
            }
            servers = {
                name: _start(command, env, port[name], root / f"{name}.log")
                for name, command in commands.items()
            }
            try:
                runs: dict[str, list[dict[str, Any]]] = {"plain": [], "agentor": []}
                for _ in range(options.rounds):
                    for name in ("plain", "agentor"):
                        url = f"http://127.0.0.1:{port[name]}/mcp"
                        runs[name].append(
                            anyio.run(_drive, url, options.clients, options.seconds, options.warmup)
                        )
            finally:
                for process in servers.values():
                    _stop(process)
            answered += sum(r["calls"] + r["warm_up_calls"] for r in runs["agentor"])
            for name, results in runs.items():
                figures[f"{name}_{workers}_worker"] = {
                    "calls_per_second": round(
                        sum(r["calls"] for r in results) / sum(r["seconds"] for r in results), 1
                    ),
                    "errors": sum(r["errors"] for r in results),
                    "rounds": results,
                }
        audit_check = _verify(audit, root / "state" / "audit" / "checkpoint.key.pub")
    print(
        json.dumps(
            {
                "benchmark": "mcp_http_throughput",
                "tool": "echo (WASI preview 1 module), stateless streamable HTTP",
                "audit_durability": options.durability,
                "clients": options.clients,
                "seconds_per_round": options.seconds,
                **figures,
                "ratio_1_worker": round(
                    figures["agentor_1_worker"]["calls_per_second"]
                    / figures["plain_1_worker"]["calls_per_second"],
                    3,
                ),
                "ratio_2_workers": round(
                    figures["agentor_2_worker"]["calls_per_second"]
                    / figures["plain_2_worker"]["calls_per_second"],
                    3,
                ),
                "agentor_audit": {
                    **audit_check,
                    "calls_answered": answered,
                    "one_decision_and_one_result_per_call": audit_check["by_type"]
                    == {"decision": answered, "result": answered},
                },
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
