"""A stdio transport for outside MCP servers that inherits nothing.

The SDK's ``stdio_client`` merges a default environment (HOME, PATH, SHELL,
USER, …) into the child's; an outside server must see only what the operator
granted, so this transport starts the process with exactly the given
environment (possibly empty), an explicit working directory, its own process
group, and no shell. Lines from the server are bounded: a message longer than
``max_message_bytes`` stops the server instead of growing a buffer. Its stderr
is read, cut to short lines and logged at debug level, never forwarded.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Final

import anyio
import anyio.abc
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

_log = logging.getLogger(__name__)

_STDERR_LINE: Final = 512
_GRACE_SECONDS: Final = 2.0


class UpstreamExited(Exception):  # noqa: N818 - a state, raised into the session's stream
    """The outside server's process ended or broke the protocol."""


@asynccontextmanager
async def clean_stdio(  # noqa: PLR0915 - one transport: three pipe tasks share its state
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    max_message_bytes: int,
    exited: anyio.Event,
) -> AsyncIterator[
    tuple[
        MemoryObjectReceiveStream[SessionMessage | Exception],
        MemoryObjectSendStream[SessionMessage],
    ]
]:
    """Start ``argv`` with exactly ``env`` in ``cwd``; yield the SDK's transport streams.

    ``exited`` is set when the process ends (crash, exit, or a protocol violation).
    """
    # An argv list (no shell); stdin, stdout and stderr are pipes (anyio's default).
    process = await anyio.open_process(
        list(argv),
        env=dict(env),
        cwd=str(cwd),
        start_new_session=True,
    )
    to_session, from_server = anyio.create_memory_object_stream[SessionMessage | Exception](16)
    to_server, from_session = anyio.create_memory_object_stream[SessionMessage](16)

    async def read_stdout() -> None:
        stdout = process.stdout
        if stdout is None:  # pragma: no cover - opened with a pipe above
            return
        buffer = bytearray()
        try:
            async for chunk in stdout:
                buffer += chunk
                while (end := buffer.find(b"\n")) >= 0:
                    line = bytes(buffer[:end])
                    del buffer[: end + 1]
                    if line.strip():
                        await to_session.send(_parse(line))
                if len(buffer) > max_message_bytes:
                    _log.warning(
                        "outside MCP server sent a message over %d bytes", max_message_bytes
                    )
                    break
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass
        finally:
            exited.set()
            to_session.close()

    async def write_stdin() -> None:
        stdin = process.stdin
        if stdin is None:  # pragma: no cover - opened with a pipe above
            return
        try:
            async for message in from_session:
                data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                await stdin.send(data.encode("utf-8") + b"\n")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            exited.set()
            to_session.close()

    async def read_stderr() -> None:
        stderr = process.stderr
        if stderr is None:  # pragma: no cover - opened with a pipe above
            return
        try:
            async for chunk in stderr:
                text = chunk[:_STDERR_LINE].decode("utf-8", "replace")
                _log.debug("outside server stderr: %r", text)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass

    async with anyio.create_task_group() as group:
        group.start_soon(read_stdout)
        group.start_soon(write_stdin)
        group.start_soon(read_stderr)
        try:
            yield from_server, to_server
        finally:
            with anyio.CancelScope(shield=True):
                await _stop(process)
            group.cancel_scope.cancel()
            for stream in (to_session, from_server, to_server, from_session):
                stream.close()


def _parse(line: bytes) -> SessionMessage | Exception:
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValidationError:
        return UpstreamExited("the outside server wrote a line that is not a JSON-RPC message")


async def _stop(process: anyio.abc.Process) -> None:
    """Close stdin, wait briefly, then terminate and kill the whole process group."""
    if process.stdin is not None:
        with suppress(OSError, anyio.BrokenResourceError):
            await process.stdin.aclose()
    with anyio.move_on_after(_GRACE_SECONDS):
        await process.wait()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            break
        try:
            # Its own session (start_new_session): the group is exactly its children.
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        with anyio.move_on_after(_GRACE_SECONDS):
            await process.wait()
    # Release the pipes and the transport while the event loop still runs.
    with anyio.move_on_after(_GRACE_SECONDS):
        await process.aclose()
