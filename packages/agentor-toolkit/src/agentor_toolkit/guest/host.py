"""Guest helpers for the host imports: ``http``, ``log``, ``progress``, ``secret_exists``, ``now``.

Standard library only. Inside a component they call the ``agentor:tool/host``
imports (every HTTP request goes through the host's egress guard); under plain
CPython (tests, the host) the bindings do not exist and each raises
:class:`HostUnavailable` naming what is missing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from agentor_toolkit.guest.tools import ToolFailure


class HostUnavailable(RuntimeError):  # noqa: N818 - reads as a state
    """The host imports exist only inside a component built by ``agentor tool build``."""


def _bindings() -> tuple[Any, Any, Any]:
    # Imported by name: these modules exist only inside the component, where
    # componentize-py generates them (the build's app module imports them first).
    try:
        err_type = importlib.import_module("componentize_py_types").Err
        host = importlib.import_module("wit_world.imports.host")
        types = importlib.import_module("wit_world.imports.types")
    except ImportError:
        raise HostUnavailable(
            "host imports exist only inside a built component; call the tool through the sandbox"
        ) from None
    return host, types, err_type


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def http(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> Response:
    """Send a request through the host's egress guard.

    A refusal (destination not granted, SSRF, size cap…) raises
    :class:`ToolFailure` carrying the host's stable code, e.g.
    ``egress.destination_denied``; let it propagate to report it to the caller.
    """
    host, types, err_type = _bindings()
    request = types.HttpRequest(
        method=method.upper(),
        url=url,
        headers=[types.Header(name=k, value=v) for k, v in (headers or {}).items()],
        body=body,
    )
    try:
        response = host.http_fetch(request)
    except err_type as exc:
        error = exc.value
        # The host's code (e.g. egress.destination_denied) becomes a tool code
        # (egress_destination_denied); the message keeps the original.
        code = str(error.code)
        raise ToolFailure(code.replace(".", "_"), f"{code}: {error.message}") from None
    return Response(
        status=int(response.status),
        url=str(response.url),
        headers=[(h.name, h.value) for h in response.headers],
        body=bytes(response.body),
    )


def log(message: str, level: str = "info") -> None:
    """A log line for the host (``debug``, ``info``, ``warning``, ``error``), bounded by it."""
    host, types, _ = _bindings()
    levels = {
        "debug": types.LogLevel.DEBUG,
        "info": types.LogLevel.INFO,
        "warning": types.LogLevel.WARNING,
        "error": types.LogLevel.ERROR,
    }
    host.log(levels.get(level, types.LogLevel.INFO), message)


def progress(done: int, total: int = 0, message: str = "") -> None:
    """Report progress of a long call; ``total`` 0 means unknown."""
    host, _, _ = _bindings()
    host.progress(max(done, 0), max(total, 0), message)


def secret_exists(name: str) -> bool:
    """Whether the secret ``name`` is granted and set. Its value never enters the sandbox."""
    host, _, _ = _bindings()
    return bool(host.secret_exists(name))


def now_ms() -> int:
    """The host's wall-clock time in milliseconds since the Unix epoch."""
    host, _, _ = _bindings()
    return int(host.now())
