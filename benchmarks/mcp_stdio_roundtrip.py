"""tools/call round trip over stdio: a sandboxed tool under policy and audit vs plain MCP.

Both servers are separate processes driven by the same MCP SDK client in the same
run, connected at once and called alternately (interleaved), so load on a shared
machine falls on both alike. The sandboxed side is `agentor serve`: policy
decision, audit (decision and result) and a fresh sandbox instance per call.
The baseline is the SDK's plain `MCPServer` serving the same function in Python.

    python benchmarks/mcp_stdio_roundtrip.py [--calls 1000] [--tool wat|python]
        [--durability full|normal]

--tool wat     the embedded `echo`: a WASI preview 1 module (the defaults of `agentor serve`)
--tool channel the same config, with `echo` built from the sandbox's host-channel echo
               (a preview 1 module that imports no WASI: agentor:tool/core@0.1.0)
--tool python  `echo` of a Python component built with componentize-py (the sandbox's
               test tool, built once and cached under the agentor cache directory)
--durability   the agentor side's `[audit] durability`: `full` (default; SQLite
               synchronous=FULL, an fsync per commit) or `normal` (survives a killed
               process, not a power loss)

Prints JSON, including the machine's load average before and after. The audit
log and state go to a temporary directory.
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
    return {RESULT}


app.run()
'''

PYTHON_POLICY = """version = 1
[[tool]]
id = "echo"
name = "echo"
[tool.args.text]
type = "string"
required = true
max_length = 1000
"""


def _wat_config(durability: str) -> str:
    text = (DEFAULTS_DIR / "agentor.toml").read_text(encoding="utf-8")
    text = text.replace('file = "', f'file = "{DEFAULTS_DIR}/')
    return text + f'\n[audit]\ndurability = "{durability}"\n'


def _channel_config(root: Path, durability: str) -> str:
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "sandbox"))
    import wasmtime  # noqa: PLC0415 - only this mode needs them
    from sandbox_fixtures import CHANNEL_ECHO_WAT  # noqa: PLC0415

    wasm = root / "echo-channel.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(CHANNEL_ECHO_WAT))
    text = _wat_config(durability)
    return text.replace(f'"{DEFAULTS_DIR}/tools/echo.wasm"', f'"{wasm}"')


def _python_config(root: Path, durability: str) -> str:
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "sandbox"))
    from sandbox_fixtures import build_pytool  # noqa: PLC0415 - only this mode needs it

    component = build_pytool()
    (root / "policy.toml").write_text(PYTHON_POLICY, encoding="utf-8")
    return (
        f'version = 1\n[policy]\nfile = "{root / "policy.toml"}"\n'
        f'[audit]\ndurability = "{durability}"\n'
        f'[[tools]]\nfile = "{component}"\n'
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(times: list[float]) -> dict[str, Any]:
    ms = [t * 1000 for t in times]
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(_percentile(ms, 0.99), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "calls": len(ms),
    }


async def _measure(
    plain: StdioServerParameters, sandboxed: StdioServerParameters, calls: int, warmup: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    async with Client(plain, mode="legacy") as base, Client(sandboxed, mode="legacy") as agentor:
        clients = {"plain": base, "agentor": agentor}
        times: dict[str, list[float]] = {"plain": [], "agentor": []}
        for client in clients.values():
            await client.list_tools()
            for _ in range(warmup):
                await client.call_tool("echo", {"text": "warm"})
        for i in range(calls):
            # Alternate which side goes first, so neither always follows the other.
            order = list(clients.items()) if i % 2 == 0 else list(reversed(clients.items()))
            for name, client in order:
                t0 = time.perf_counter()
                result = await client.call_tool("echo", {"text": f"call {i}"})
                times[name].append(time.perf_counter() - t0)
                if result.is_error:
                    raise RuntimeError(f"{name} call failed: {result.content}")
    return _summary(times["plain"]), _summary(times["agentor"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--tool", choices=["wat", "channel", "python"], default="wat")
    parser.add_argument(
        "--durability",
        choices=["full", "normal"],
        default="full",
        help="audit durability of the agentor side (full: fsync per commit)",
    )
    options = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "AGENTOR_STATE_DIR": str(root / "state"),
            "AGENTOR_CONFIG_DIR": str(root / "config"),
        }
        result = '{"echo": {"text": text}}' if options.tool == "python" else '{"text": text}'
        plain_script = root / "plain_server.py"
        plain_script.write_text(PLAIN_SERVER.replace("{RESULT}", result), encoding="utf-8")
        plain = StdioServerParameters(command=sys.executable, args=[str(plain_script)], env=env)
        config = root / "agentor.toml"
        configs = {
            "wat": lambda: _wat_config(options.durability),
            "channel": lambda: _channel_config(root, options.durability),
            "python": lambda: _python_config(root, options.durability),
        }
        text = configs[options.tool]()
        config.write_text(text, encoding="utf-8")
        sandboxed = StdioServerParameters(
            command=sys.executable,
            args=["-m", "agentor_cli", "serve", "--no-reload", "--config", str(config)],
            env=env,
        )
        baseline, agentor = anyio.run(_measure, plain, sandboxed, options.calls, options.warmup)
    print(
        json.dumps(
            {
                "benchmark": "mcp_stdio_roundtrip",
                "tool": {
                    "wat": "echo (WASI preview 1 module, stdio)",
                    "channel": "echo (preview 1 module, host channel, no WASI)",
                    "python": "echo (Python component, componentize-py)",
                }[options.tool],
                "audit_durability": options.durability,
                "plain_mcpserver": baseline,
                "agentor_serve": agentor,
                "ratio_p50": round(agentor["p50_ms"] / baseline["p50_ms"], 3),
                "ratio_p99": round(agentor["p99_ms"] / baseline["p99_ms"], 3),
                "target_ratio_p50": 1.3,
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
