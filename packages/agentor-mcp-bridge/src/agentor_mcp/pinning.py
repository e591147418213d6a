"""Pins against rug pulls: an outside tool is approved as it was, and only as it was.

The pin is the SHA-256 of the RFC 8785 canonical JSON of what a model is shown
of the tool: name, title, description, input and output schemas, annotations.
The store keeps, per server, the pin a person approved. A tool whose current
pin differs (a server changed its description or schema after approval) is
:attr:`PinStatus.CHANGED` and must not be served until approved again.

The store is a small JSON file written atomically (temporary file, fsync,
rename), read with a size bound and validated by pydantic.
"""

from __future__ import annotations

import os
import tempfile
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentor_core.bounds import Name, Sha256Hex
from agentor_core.canonical import canonical_json, sha256_hex
from agentor_core.errors import AgentorError
from agentor_core.validation import describe_validation_error
from agentor_mcp.codes import McpCode

MAX_PIN_FILE_BYTES: Final = 4 * 1024 * 1024
MAX_SERVERS: Final = 256
MAX_TOOLS_PER_SERVER: Final = 1024


class PinStatus(StrEnum):
    NEW = "new"
    """Never approved: serve only after a person approves it."""
    PINNED = "pinned"
    """Exactly as approved."""
    CHANGED = "changed"
    """Different from what was approved: disabled until approved again."""


def tool_pin(tool: Any) -> str:
    """The pin of an MCP ``Tool`` (the SDK model, or its JSON as a dict)."""
    data = tool.model_dump(mode="json", by_alias=True) if hasattr(tool, "model_dump") else tool
    shown = {
        key: data.get(key)
        for key in ("name", "title", "description", "inputSchema", "outputSchema", "annotations")
    }
    return sha256_hex(canonical_json(shown))


class _Pins(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    version: int = 1
    servers: dict[Name, dict[Name, Sha256Hex]] = Field(default_factory=dict, max_length=MAX_SERVERS)


class PinStore:
    """Approved pins per server, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._pins = self._read()

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise self._invalid(f"cannot read it ({type(exc).__name__})") from None
        if size > MAX_PIN_FILE_BYTES:
            raise self._invalid(f"{size} bytes; the limit is {MAX_PIN_FILE_BYTES}")
        try:
            pins = _Pins.model_validate_json(self.path.read_bytes())
        except OSError as exc:
            raise self._invalid(f"cannot read it ({type(exc).__name__})") from None
        except ValidationError as exc:
            raise self._invalid(describe_validation_error(exc)) from None
        return {server: dict(tools) for server, tools in pins.servers.items()}

    def _invalid(self, message: str) -> AgentorError:
        return AgentorError(
            McpCode.PINS_INVALID,
            f"{self.path}: {message}",
            hint="restore the pin file from a backup, or remove it and approve every tool again",
        )

    def status(self, server: str, name: str, pin: str) -> PinStatus:
        with self._lock:
            approved = self._pins.get(server, {}).get(name)
        if approved is None:
            return PinStatus.NEW
        return PinStatus.PINNED if approved == pin else PinStatus.CHANGED

    def approve(self, server: str, name: str, pin: str) -> None:
        """Record ``pin`` as approved for ``server``/``name`` and write the file atomically."""
        with self._lock:
            tools = dict(self._pins.get(server, {}))
            if name not in tools and len(tools) >= MAX_TOOLS_PER_SERVER:
                raise self._invalid(f"more than {MAX_TOOLS_PER_SERVER} tools for {server}")
            tools[name] = pin
            pins = {**self._pins, server: tools}
            # Validated before it is written: the file is never something _read refuses.
            document = _Pins(servers=pins).model_dump_json(indent=2)
            self._write(document)
            self._pins = pins

    def _write(self, document: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".pins-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(document)
                out.flush()
                os.fsync(out.fileno())
            Path(temporary).replace(self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
