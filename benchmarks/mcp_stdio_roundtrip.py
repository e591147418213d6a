"""tools/call round trip over stdio: a sandboxed tool under policy and audit vs plain MCP.

Both servers are separate processes driven by the same MCP SDK client in the same
run. The sandboxed side is `agentor serve` on its embedded defaults (the echo tool:
a WASI preview 1 module, a fresh instance per call, policy decision and two audit
commits per call). The baseline is the SDK's plain `MCPServer` with the same echo
function in Python. Also measured: process start to the first answered initialize.

    python benchmarks/mcp_stdio_roundtrip.py [--calls 200]

Prints JSON. The audit log and caches go to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from agentor_cli.commands.serve import DEFAULTS_DIR

PLAIN_SERVER = '''
from mcp.server import MCPServer

app = MCPServer("plain")


@app.tool()
def echo(text: str) -> dict:
    """Returns its arguments unchanged."""
    return {"text": text}


app.run()
'''


def _config(durability: str) -> str:
    text = (DEFAULTS_DIR / "agentor.toml").read_text(encoding="utf-8")
    text = text.replace('file = "', f'file = "{DEFAULTS_DIR}/')
    return text + f'\n[audit]\ndurability = "{durability}"\n'


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(times: list[float], first_init: float) -> dict[str, Any]:
    ms = [t * 1000 for t in times]
    return {
        "start_to_initialize_ms": round(first_init * 1000, 1),
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(_percentile(ms, 0.95), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "calls": len(ms),
    }


async def _measure(
    plain: StdioServerParameters, sandboxed: StdioServerParameters, calls: int, warmup: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    # Both servers are connected at once and called alternately, so load on a
    # shared machine falls on both sides alike.
    started = time.perf_counter()
    async with Client(plain, mode="legacy") as base:
        base_init = time.perf_counter() - started
        started = time.perf_counter()
        async with Client(sandboxed, mode="legacy") as agentor:
            agentor_init = time.perf_counter() - started
            clients = {"plain": base, "agentor": agentor}
            times: dict[str, list[float]] = {"plain": [], "agentor": []}
            for client in clients.values():
                await client.list_tools()
                for _ in range(warmup):
                    await client.call_tool("echo", {"text": "warm"})
            for i in range(calls):
                for name, client in clients.items():
                    t0 = time.perf_counter()
                    result = await client.call_tool("echo", {"text": f"call {i}"})
                    times[name].append(time.perf_counter() - t0)
                    if result.is_error:
                        raise RuntimeError(f"{name} call failed: {result.content}")
    return _summary(times["plain"], base_init), _summary(times["agentor"], agentor_init)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--durability",
        choices=["full", "normal"],
        default="full",
        help="audit durability of the agentor side (full: fsync per commit)",
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "AGENTOR_STATE_DIR": str(root / "state"),
            "AGENTOR_CONFIG_DIR": str(root / "config"),
        }
        plain_script = root / "plain_server.py"
        plain_script.write_text(PLAIN_SERVER, encoding="utf-8")
        plain = StdioServerParameters(command=sys.executable, args=[str(plain_script)], env=env)
        config = root / "agentor.toml"
        config.write_text(_config(options.durability), encoding="utf-8")
        sandboxed = StdioServerParameters(
            command=sys.executable,
            args=["-m", "agentor_cli", "serve", "--config", str(config)],
            env=env,
        )
        baseline, agentor = anyio.run(_measure, plain, sandboxed, options.calls, options.warmup)
    print(
        json.dumps(
            {
                "benchmark": "mcp_stdio_roundtrip",
                "tool": "echo",
                "audit_durability": options.durability,
                "plain_mcpserver": baseline,
                "agentor_serve": agentor,
                "ratio_p50": round(agentor["p50_ms"] / baseline["p50_ms"], 3),
                "ratio_start_to_initialize": round(
                    agentor["start_to_initialize_ms"] / baseline["start_to_initialize_ms"], 3
                ),
                "target_ratio_p50": 1.3,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
