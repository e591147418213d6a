"""Per-call state: budgets, counters, and which limit (if any) a call ran into."""

from __future__ import annotations

import errno
import gc
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from agentor_core.capabilities import Capabilities, ResourceLimits
from agentor_sandbox.codes import SandboxCode

_log = logging.getLogger("agentor_sandbox.tool")

MAX_LOG_LINE: Final = 16 * 1024
"""A single log line is cut here before it is counted; structured logs stay readable."""


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    call_id: str
    done: int
    total: int
    message: str


ProgressSink = Callable[[ProgressEvent], None]


_live_lock = threading.Lock()
_live_captures = 0


def _released() -> None:
    global _live_captures  # noqa: PLW0603 - one process-wide count of guest output streams
    with _live_lock:
        _live_captures -= 1


def live_captures() -> int:
    with _live_lock:
        return _live_captures


def wait_for_streams(timeout: float, captures: weakref.WeakSet[Capture] | None = None) -> bool:
    """Wait until wasmtime has released guest output streams; False on timeout.

    wasmtime drops a store's stdout/stderr streams on its own I/O threads, which
    then call back into Python. If the interpreter is finalizing by then, that
    thread is torn down mid-callback and the process aborts, so a runtime waits
    here for its own ``captures`` on close, and for all of them at exit.
    """
    deadline = time.monotonic() + timeout
    while (len(captures) if captures is not None else live_captures()) > 0:
        gc.collect()
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


@dataclass(eq=False)
class Capture:
    """Bounded capture of a guest's stdout and stderr.

    wasmtime may invoke the writers from its own I/O threads, so this object is
    bound to one store by closure rather than found through a thread-local.
    """

    limit: int
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    exceeded: bool = False
    streams: bool = True
    """Whether wasmtime gets writers bound to this capture (a WASI context); only
    then can its I/O threads call back after the store is gone, so only then is
    the capture counted for :func:`wait_for_streams`."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.streams:
            return
        global _live_captures  # noqa: PLW0603 - see _released
        with _live_lock:
            _live_captures += 1
        weakref.finalize(self, _released)

    def has_room(self, size: int) -> bool:
        """Whether ``size`` more bytes fit; if not, the capture is marked exceeded."""
        with self._lock:
            if len(self.stdout) + len(self.stderr) + size > self.limit:
                self.exceeded = True
                return False
            return True

    def _write(self, target: bytearray, data: bytes) -> int:
        with self._lock:
            if len(self.stdout) + len(self.stderr) + len(data) > self.limit:
                self.exceeded = True
                # EIO tells the guest its write failed; the call ends with output_exhausted.
                return -errno.EIO
            target.extend(data)
            return len(data)

    def write_stdout(self, data: bytes) -> int:
        return self._write(self.stdout, data)

    def write_stderr(self, data: bytes) -> int:
        return self._write(self.stderr, data)


@dataclass(slots=True)
class CallState:
    """What host imports need while one call runs on the current thread."""

    call_id: str
    tool: str
    grant: Capabilities
    progress: ProgressSink | None = None
    stdin: bytes = b""
    """The arguments a core module reads through the host channel."""
    capture: Capture | None = None
    """Where a core module's host-channel output goes (its stdout)."""
    log_bytes: int = 0
    logs_dropped: int = 0
    http_requests: int = 0
    tripped: SandboxCode | None = None
    """The first limit a host import saw exhausted; it decides the call's error code."""

    @property
    def limits(self) -> ResourceLimits:
        return self.grant.limits

    def trip(self, code: SandboxCode) -> None:
        if self.tripped is None:
            self.tripped = code

    def log(self, level: str, message: str) -> None:
        line = message[:MAX_LOG_LINE]
        size = len(line.encode("utf-8", "replace"))
        if self.log_bytes + size > self.limits.log_bytes:
            self.logs_dropped += 1
            self.trip(SandboxCode.LOG_EXHAUSTED)
            return
        self.log_bytes += size
        py_level = {"debug": logging.DEBUG, "warning": logging.WARNING, "error": logging.ERROR}
        # %r keeps control characters and terminal escapes from the guest inert.
        _log.log(
            py_level.get(level, logging.INFO),
            "tool log %r",
            line,
            extra={"call_id": self.call_id, "tool": self.tool},
        )

    def report_progress(self, done: int, total: int, message: str) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent(self.call_id, done, total, message[:1024]))


_current = threading.local()


def current() -> CallState | None:
    """The call running on this thread; host imports run on the thread that called in."""
    state: CallState | None = getattr(_current, "state", None)
    return state


def set_current(state: CallState | None) -> None:
    _current.state = state
