"""Process start to the first answered `initialize`: `agentor serve` vs the SDK's plain server.

Each run starts a fresh server process over stdio and times, from just before
the spawn, until the MCP SDK client has its `initialize` answer (the client's
session is open). Runs alternate between the two servers. The agentor side gets
its own compile cache (AGENTOR_CACHE_DIR in a temporary directory): its first
run is cold (every tool compiled to native code), the rest warm (deserialized
from the authenticated cache).

    python benchmarks/mcp_startup.py [--runs 10] [--tool wat|python]

--tool wat     the embedded defaults of `agentor serve` (two WASI preview 1 modules)
--tool python  a toolbox of one Python component built with componentize-py
               (the sandbox's test tool, built once and cached)

Prints JSON, with the load average before and after.
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

PYTHON_POLICY = """version = 1
[[tool]]
id = "echo"
name = "echo"
"""


def _config(root: Path, tool: str) -> str:
    if tool == "wat":
        text = (DEFAULTS_DIR / "agentor.toml").read_text(encoding="utf-8")
        return text.replace('file = "', f'file = "{DEFAULTS_DIR}/')
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "sandbox"))
    from sandbox_fixtures import build_pytool  # noqa: PLC0415 - only this mode needs it

    component = build_pytool()
    (root / "policy.toml").write_text(PYTHON_POLICY, encoding="utf-8")
    return (
        f'version = 1\n[policy]\nfile = "{root / "policy.toml"}"\n[[tools]]\nfile = "{component}"\n'
    )


async def _start(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params, mode="legacy"):
        return time.perf_counter() - started


def _ms(values: list[float]) -> dict[str, Any]:
    ms = sorted(v * 1000 for v in values)
    return {
        "median_ms": round(statistics.median(ms), 1),
        "min_ms": round(ms[0], 1),
        "max_ms": round(ms[-1], 1),
        "runs": len(ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10, help="warm runs of each server")
    parser.add_argument("--tool", choices=["wat", "python"], default="wat")
    options = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "AGENTOR_STATE_DIR": str(root / "state"),
            "AGENTOR_CONFIG_DIR": str(root / "config"),
            "AGENTOR_CACHE_DIR": str(root / "cache"),
        }
        plain_script = root / "plain_server.py"
        plain_script.write_text(PLAIN_SERVER, encoding="utf-8")
        plain = StdioServerParameters(command=sys.executable, args=[str(plain_script)], env=env)
        config = root / "agentor.toml"
        config.write_text(_config(root, options.tool), encoding="utf-8")
        agentor = StdioServerParameters(
            command=sys.executable,
            args=["-m", "agentor_cli", "serve", "--no-reload", "--config", str(config)],
            env=env,
        )
        # One start of each first: the cold agentor start (empty compile cache) and
        # a plain start that warms the OS page cache for the shared Python files.
        plain_first = anyio.run(_start, plain)
        cold = anyio.run(_start, agentor)
        times: dict[str, list[float]] = {"plain": [], "agentor": []}
        for i in range(options.runs):
            order = [("plain", plain), ("agentor", agentor)]
            for name, params in order if i % 2 == 0 else reversed(order):
                times[name].append(anyio.run(_start, params))
    plain_warm, agentor_warm = _ms(times["plain"]), _ms(times["agentor"])
    print(
        json.dumps(
            {
                "benchmark": "mcp_startup",
                "measure": "process start to the first answered initialize (stdio)",
                "tool": "embedded defaults (WASI preview 1 modules)"
                if options.tool == "wat"
                else "one Python component (componentize-py)",
                "plain_mcpserver": {**plain_warm, "first_ms": round(plain_first * 1000, 1)},
                "agentor_serve_warm_cache": agentor_warm,
                "agentor_serve_cold_cache_ms": round(cold * 1000, 1),
                "ratio_warm_median": round(agentor_warm["median_ms"] / plain_warm["median_ms"], 3),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
