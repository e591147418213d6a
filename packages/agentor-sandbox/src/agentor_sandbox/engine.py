"""The one wasmtime engine a runtime uses, and the ticker that drives its deadlines."""

from __future__ import annotations

import threading
from importlib import metadata
from typing import Final

import wasmtime

TICK_MS: Final = 5
"""Epoch granularity: a deadline is enforced within about this many milliseconds."""

MAX_WASM_STACK: Final = 1024 * 1024
"""Guest stack; deep recursion ends in ``sandbox.stack_exhausted`` well before the host's."""

# Fixed settings, recorded in the cache key so an artifact compiled under other
# settings is never loaded into this engine.
ENGINE_SETTINGS: Final = f"fuel=1;epoch=1;stack={MAX_WASM_STACK};threads=0;component=1"


def wasmtime_version() -> str:
    return metadata.version("wasmtime")


def engine_fingerprint() -> str:
    """What a compiled artifact depends on besides the wasm bytes."""
    return f"wasmtime={wasmtime_version()};{ENGINE_SETTINGS}"


def new_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.max_wasm_stack = MAX_WASM_STACK
    # Shared memories would outlive a call's store; nothing here needs them.
    config.wasm_threads = False
    config.shared_memory = False
    config.wasm_component_model = True
    # wasmtime's own on-disk cache stays off (the default): artifacts go through ours.
    return wasmtime.Engine(config)


class EpochTicker:
    """A daemon thread that advances ``engine``'s epoch every :data:`TICK_MS` ms.

    A call's deadline is a number of ticks; a guest in an infinite loop traps at
    the next epoch check after the deadline passes, whatever it is doing.
    """

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = engine
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agentor-epoch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(TICK_MS / 1000):
            self._engine.increment_epoch()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)


def deadline_ticks(deadline_ms: int) -> int:
    # One extra tick: the first may arrive at once, so n ticks guarantee only n-1 periods.
    return deadline_ms // TICK_MS + 1
