"""Dropping used stores off the request path.

Freeing a store unmaps its linear memory and guard regions, which costs
hundreds of microseconds for a small tool and milliseconds for a Python
component. A call's result does not depend on it, so a daemon thread does it
after the result has been returned. Nothing in a retired store is reachable
by any other call: the reaper only ever drops references.
"""

from __future__ import annotations

import queue
import threading
from typing import Final

_STOP: Final = object()


class Reaper:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="agentor-reaper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            del item  # the last reference: wasmtime frees the store here

    def retire(self, *items: object) -> None:
        for item in items:
            self._queue.put(item)

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
