"""Fresh-instance call latency of agentor-sandbox, p50/p99, against raw wasmtime in the same run.

(a) a WAT preview 1 command module (WASI stdin/stdout, and the same echo
through the host channel ``agentor:tool/core``),
(b) a Python component built with
componentize-py; each through SandboxRuntime with and without the pool, and
the same work done with bare wasmtime (no grant, no limits, no checks) as the
baseline. Prints JSON. Usage: python benchmarks/sandbox_latency.py [--calls N]

``--generic``: instead, a generic component (a custom WIT world, arguments
converted from JSON to WIT values and back) against the agentor:tool component,
both fresh-instance, in the same run, with raw wasmtime as the floor.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import component as wc

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "sandbox"))

from sandbox_fixtures import (
    CHANNEL_ECHO_WAT,
    ECHO_WAT,
    build_generic,
    build_pytool,
    compile_cache_dir,
)

from agentor_core import Capabilities, ToolCall
from agentor_sandbox import SandboxRuntime
from agentor_sandbox.cache import CompileCache, key_for
from agentor_sandbox.engine import new_engine
from agentor_sandbox.host import HostServices, define_host


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(statistics.median(ordered) * 1e6, 1),
        "p99_us": round(ordered[int(len(ordered) * 0.99) - 1] * 1e6, 1),
        "n": len(ordered),
    }


def measure(fn: Callable[[], object], n: int, gap: float = 0.0) -> dict[str, float]:
    for _ in range(min(20, n)):
        fn()
    samples = []
    cpu = time.process_time()
    for _ in range(n):
        if gap:
            time.sleep(gap)  # lets the pool refill off the request path, as between real calls
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    report = percentiles(samples)
    # CPU of every thread (pool refills, wasmtime's I/O threads included) per call:
    # what a call costs in all, and less sensitive to other processes than wall time.
    report["cpu_us_per_call"] = round((time.process_time() - cpu) / n * 1e6, 1)
    return report


def _engine_and_cache() -> tuple[wasmtime.Engine, CompileCache]:
    # The sandbox's own engine settings (fuel, epochs), without any of its per-call work.
    return new_engine(), CompileCache(compile_cache_dir())


def measure_prepared(
    setup: Callable[[], Callable[[], object]], n: int, gap: float = 0.0
) -> dict[str, float]:
    """Time only what ``setup`` returns: the floor a pre-instantiated call cannot beat."""
    samples = []
    for _ in range(n):
        run = setup()
        if gap:
            time.sleep(gap)
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def raw_module(wasm: bytes) -> Callable[[], object]:
    engine = new_engine()
    module = wasmtime.Module(engine, wasm)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    pre = linker.instantiate_pre(module)

    def run() -> object:
        store = wasmtime.Store(engine)
        store.set_fuel(10**9)
        store.set_epoch_deadline(10**6)
        config = wasmtime.WasiConfig()
        ffi.wasi_config_set_stdin_bytes(config.ptr(), ffi.bytes_to_capi(b'{"x":1}'))
        out: list[bytes] = []
        config.stdout_custom = out.append
        store.set_wasi(config)
        instance = pre.instantiate(store)
        instance.exports(store)["_start"](store)
        return out

    return run


def raw_channel_module(wasm: bytes) -> Callable[[], object]:
    """The channel echo in bare wasmtime: the least host functions can do, no checks."""
    engine = new_engine()
    module = wasmtime.Module(engine, wasm)
    linker = wasmtime.Linker(engine)
    i32 = wasmtime.ValType.i32()
    args = b'{"x":1}'
    out: list[bytes] = []

    def read(caller: wasmtime.Caller, ptr: int, _cap: int) -> int:
        memory = caller.get("memory")
        if not isinstance(memory, wasmtime.Memory):
            return -1
        memory.write(caller, args, ptr)
        return len(args)

    def write(caller: wasmtime.Caller, ptr: int, length: int) -> int:
        memory = caller.get("memory")
        if not isinstance(memory, wasmtime.Memory):
            return -1
        out.append(bytes(memory.read(caller, ptr, ptr + length)))
        return length

    core = "agentor:tool/core@0.1.0"
    linker.define_func(core, "input-read", wasmtime.FuncType([i32, i32], [i32]), read, True)
    linker.define_func(core, "output-write", wasmtime.FuncType([i32, i32], [i32]), write, True)
    pre = linker.instantiate_pre(module)

    def run() -> object:
        store = wasmtime.Store(engine)
        store.set_fuel(10**9)
        store.set_epoch_deadline(10**6)
        instance = pre.instantiate(store)
        instance.exports(store)["_start"](store)
        return out.pop()

    return run


def raw_component(path: Path) -> Callable[[], object]:
    engine, cache = _engine_and_cache()
    wasm = path.read_bytes()
    artifact = cache.load(key_for(hashlib.sha256(wasm).hexdigest(), "component"))
    component = (
        wc.Component.deserialize(engine, artifact) if artifact else wc.Component(engine, wasm)
    )
    linker = wc.Linker(engine)
    linker.add_wasip2()
    define_host(linker, HostServices(egress=None, secrets=None))

    def prepare() -> Callable[[], object]:
        store = wasmtime.Store(engine)
        store.set_fuel(10**10)
        store.set_epoch_deadline(10**6)
        store.set_wasi(wasmtime.WasiConfig())
        instance = linker.instantiate(store, component)
        call = instance.get_func(store, "call")
        if call is None:
            raise SystemExit("no call export")
        return lambda: call(store, "echo", '{"x":1}')

    return prepare


def raw_generic(path: Path) -> Callable[[], object]:
    """The generic export called with ready-made WIT values: no JSON, no checks, no grant."""
    engine, cache = _engine_and_cache()
    wasm = path.read_bytes()
    artifact = cache.load(key_for(hashlib.sha256(wasm).hexdigest(), "component"))
    component = (
        wc.Component.deserialize(engine, artifact) if artifact else wc.Component(engine, wasm)
    )
    linker = wc.Linker(engine)
    linker.add_wasip2()

    def run() -> object:
        store = wasmtime.Store(engine)
        store.set_fuel(10**10)
        store.set_epoch_deadline(10**6)
        store.set_wasi(wasmtime.WasiConfig())
        instance = linker.instantiate(store, component)
        func = instance.get_func(store, "move-point")
        if func is None:
            raise SystemExit("no move-point export")
        point = wc.Record()
        point.x, point.y = 1, 2
        return func(store, point, 3)

    return run


def generic_report(calls: int) -> dict[str, object]:
    grant = Capabilities()
    n = max(50, calls // 4)
    report: dict[str, object] = {}
    generic_call = ToolCall(id="b", tool="move-point", arguments={"p": {"x": 1, "y": 2}, "dx": 3})
    tool_call = ToolCall(id="b", tool="echo", arguments={"p": {"x": 1, "y": 2}, "dx": 3})
    for name, wasm, call in (
        ("generic", build_generic(), generic_call),
        ("agentor_tool", build_pytool(), tool_call),
    ):
        with SandboxRuntime([wasm], cache_dir=compile_cache_dir(), pool_size=0) as rt:
            report[f"{name}_sandbox_fresh_instance"] = measure(
                lambda rt=rt, call=call: rt.invoke(call, grant), n, gap=0.01
            )
    report["generic_baseline_raw_instantiate_and_call"] = measure(
        raw_generic(build_generic()), n, gap=0.01
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--generic", action="store_true", help="generic vs agentor:tool only")
    opts = parser.parse_args()
    report: dict[str, object] = {
        "python": sys.version.split()[0],
        "wasmtime": "50.0.1+",
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    if opts.generic:
        report.update(generic_report(opts.calls))
        print(json.dumps(report, indent=2))
        return
    grant = Capabilities()
    wasm = wasmtime.wat2wasm(ECHO_WAT)
    call = ToolCall(id="b", tool="echo", arguments={"x": 1})
    with tempfile.TemporaryDirectory() as tmp:
        with SandboxRuntime(cache_dir=tmp) as rt:
            rt.load_bytes(bytes(wasm), source="echo.wasm", default_name="echo")
            report["core_tool_sandbox"] = measure(lambda: rt.invoke(call, grant), opts.calls)
        report["core_tool_baseline_raw_wasmtime"] = measure(raw_module(bytes(wasm)), opts.calls)
    # The same echo through the host channel: no WASI import, so no WASI context.
    channel = bytes(wasmtime.wat2wasm(CHANNEL_ECHO_WAT))
    with tempfile.TemporaryDirectory() as tmp, SandboxRuntime(cache_dir=tmp) as rt:
        rt.load_bytes(channel, source="echo.wasm", default_name="echo")
        report["core_tool_channel_sandbox"] = measure(lambda: rt.invoke(call, grant), opts.calls)
    report["core_tool_channel_baseline_raw_wasmtime"] = measure(
        raw_channel_module(channel), opts.calls
    )
    pytool = build_pytool()
    n = max(50, opts.calls // 4)
    for pool in (0, 2):
        with SandboxRuntime([pytool], cache_dir=compile_cache_dir(), pool_size=pool) as rt:
            report[f"python_tool_sandbox_pool_{pool}"] = measure(
                lambda rt=rt: rt.invoke(call, grant), n, gap=0.01
            )
    prepare = raw_component(pytool)

    def instantiate_and_call() -> object:
        return prepare()()

    report["python_tool_baseline_raw_instantiate_and_call"] = measure(
        instantiate_and_call, n, gap=0.01
    )
    report["python_tool_baseline_raw_call_on_ready_instance"] = measure_prepared(
        prepare, n, gap=0.01
    )
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
