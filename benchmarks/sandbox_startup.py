"""Cold compile of a Python component, and process start to first call with a warm cache.

Baseline in the same run: a bare ``python -c pass`` process start, and (for the
compile) loading the same component from the authenticated cache. Prints JSON.
Usage: python benchmarks/sandbox_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "sandbox"))

from sandbox_fixtures import build_pytool, compile_cache_dir

from agentor_sandbox import CompileProgress, SandboxRuntime

FIRST_CALL = """
import sys, time
from agentor_core import Capabilities, ToolCall
from agentor_sandbox import SandboxRuntime
rt = SandboxRuntime([sys.argv[1]], cache_dir=sys.argv[2], pool_size=0)
result = rt.invoke(ToolCall(id="s", tool="echo", arguments={"x": 1}), Capabilities())
assert result.error is None, result.error
rt.close()
"""


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-cold", action="store_true")
    opts = parser.parse_args()
    pytool = build_pytool()
    report: dict[str, object] = {"component_mb": round(pytool.stat().st_size / 1024**2, 1)}
    if not opts.skip_cold:
        with tempfile.TemporaryDirectory() as cold:
            seen: list[CompileProgress] = []
            start = time.perf_counter()
            with SandboxRuntime([pytool], cache_dir=cold, pool_size=0, on_compile=seen.append):
                pass
            report["cold_compile_s"] = round(time.perf_counter() - start, 2)
            artifact = next(Path(cold).glob("*.cwasm"))
            report["artifact_mb"] = round(artifact.stat().st_size / 1024**2, 1)
    start = time.perf_counter()
    with SandboxRuntime([pytool], cache_dir=compile_cache_dir(), pool_size=0):
        pass
    report["warm_load_in_process_ms"] = round((time.perf_counter() - start) * 1000, 1)
    cache = str(compile_cache_dir())
    first = [wall([sys.executable, "-c", FIRST_CALL, str(pytool), cache]) for _ in range(opts.runs)]
    bare = [wall([sys.executable, "-c", "pass"]) for _ in range(opts.runs)]
    report["process_start_to_first_call_ms_median"] = round(statistics.median(first) * 1000, 1)
    report["baseline_bare_python_start_ms_median"] = round(statistics.median(bare) * 1000, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
