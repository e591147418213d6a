"""``agentor serve --http … --workers N``: N processes accepting on one listening socket.

The first process binds the socket, then forks N-1 workers before anything
starts a thread (no sandbox, audit log or event loop exists yet), so each
worker builds its own sandbox runtime, policy and audit connection. The kernel
hands each new connection to whichever process accepts first. Every worker
serves stateless HTTP (no session lives in one process), and all append to the
same audit log, which keeps one gap-free sequence across processes.

The first process stops its workers when it stops; a worker whose parent has
gone stops itself within a second.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

from agentor_core.errors import AgentorError, CoreCode

MAX_WORKERS: Final = 64
STOP_SECONDS: Final = 10.0
BACKLOG: Final = 1024


@dataclass
class Workers:
    """The shared listening socket and, in the first process, the workers it forked."""

    listener: socket.socket
    children: list[int] = field(default_factory=list)
    parent: int | None = None
    """In a worker: the first process's pid."""

    @property
    def is_worker(self) -> bool:
        return self.parent is not None

    async def follow_parent(self) -> None:
        """In a worker: stop (as on SIGTERM, gracefully) once the first process is gone."""
        if self.parent is None:
            return
        while os.getppid() == self.parent:
            await asyncio.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    def stop(self) -> None:
        """In the first process: SIGTERM every worker, wait, then SIGKILL any left."""
        if self.is_worker:
            return
        for pid in self.children:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        waiting = list(self.children)
        while waiting and time.monotonic() < deadline:
            waiting = [pid for pid in waiting if not _reaped(pid)]
            if waiting:
                time.sleep(0.05)
        for pid in waiting:
            _signal(pid, signal.SIGKILL)
            _reaped(pid, block=True)
        self.children.clear()
        self.listener.close()


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return


def _reaped(pid: int, *, block: bool = False) -> bool:
    try:
        done, _status = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
    except OSError as exc:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="choose a free port, or stop what is listening there",
        ) from None


def start(host: str, port: int, count: int) -> Workers:
    """Bind ``host:port`` and fork ``count - 1`` workers; returns in every process.

    Call before anything starts a thread: a forked child inherits only the
    calling thread.
    """
    if not hasattr(os, "fork"):
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            "--workers needs fork(), which this platform does not have",
            hint="run one agentor serve per port behind a load balancer instead",
        )
    if not 1 <= count <= MAX_WORKERS:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"--workers must be 1 to {MAX_WORKERS}",
            hint="about one worker per CPU core",
        )
    listener = bind(host, port)
    first = os.getpid()
    workers = Workers(listener)
    for _ in range(count - 1):
        pid = os.fork()
        if pid == 0:
            return Workers(listener, parent=first)
        workers.children.append(pid)
    return workers


Task = Callable[[], Coroutine[Any, Any, None]]


def combine(*tasks: Task | None) -> Task | None:
    """One background task running every given one (``None`` entries skipped)."""
    chosen = [task for task in tasks if task is not None]
    if len(chosen) <= 1:
        return chosen[0] if chosen else None

    async def together() -> None:
        async with asyncio.TaskGroup() as group:
            for task in chosen:
                group.create_task(task())

    return together
