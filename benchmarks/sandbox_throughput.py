"""Calls per second with 1 and 2 worker threads, and memory per in-flight instance.

Baseline in the same run: the same calls on one thread. Memory per instance is
the growth of resident memory while holding K prepared instances of the Python
component (what the pool and concurrent calls keep alive), divided by K.
Prints JSON. Usage: python benchmarks/sandbox_throughput.py [--seconds S]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import wasmtime

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "sandbox"))

from sandbox_fixtures import ECHO_WAT, build_pytool, compile_cache_dir

from agentor_core import Capabilities, ToolCall
from agentor_sandbox import SandboxRuntime
from agentor_sandbox.wasi import resolved_env


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def throughput(rt: SandboxRuntime, tool: str, threads: int, seconds: float) -> float:
    call = ToolCall(id="t", tool=tool, arguments={"x": 1})
    grant = Capabilities()
    stop = time.perf_counter() + seconds
    counts = [0] * threads

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            result = rt.invoke(call, grant)
            if result.error is not None:
                raise SystemExit(str(result.error))
            counts[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return round(sum(counts) / seconds, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--instances", type=int, default=8)
    opts = parser.parse_args()
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp, SandboxRuntime(cache_dir=tmp) as rt:
        rt.load_bytes(bytes(wasmtime.wat2wasm(ECHO_WAT)), source="echo", default_name="echo")
        for threads in (1, 2):
            report[f"core_tool_calls_per_s_{threads}_thread"] = throughput(
                rt, "echo", threads, opts.seconds
            )
    with SandboxRuntime([build_pytool()], cache_dir=compile_cache_dir(), pool_size=2) as rt:
        for threads in (1, 2):
            report[f"python_tool_calls_per_s_{threads}_thread"] = throughput(
                rt, "echo", threads, opts.seconds
            )
        component = rt._tools["echo"].compiled.component
        if component is None:
            raise SystemExit("echo is not a component")
        grant = Capabilities()
        gc.collect()
        before = rss_bytes()
        held = [
            rt._prepare_component(component, grant, resolved_env(grant))
            for _ in range(opts.instances)
        ]
        # Touch each instance the way a call would, so its memory is really resident.
        for prepared in held:
            func = prepared.instance.get_func(prepared.store, "call")
            if func is None:
                raise SystemExit("no call export")
            func(prepared.store, "echo", "{}")
        after = rss_bytes()
        report["python_tool_rss_per_inflight_instance_mb"] = round(
            (after - before) / opts.instances / 1024**2, 2
        )
        report["instances_measured"] = len(held)
        del held
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
