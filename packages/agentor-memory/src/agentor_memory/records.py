"""Checking a record against the bounds before it is written, and making new ones."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ValidationError

from agentor_core.errors import AgentorError
from agentor_core.labels import LabelSet
from agentor_core.memory import MemoryRecord
from agentor_memory.codes import MemoryCode
from agentor_memory.limits import MemoryLimits

NAMESPACE_PATTERN: Final = r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,127}$"
_NAMESPACE_RE: Final = re.compile(NAMESPACE_PATTERN)
ID_PATTERN: Final = r"^[A-Za-z0-9_.:\-]{1,128}$"
_ID_RE: Final = re.compile(ID_PATTERN)


def utc_now() -> datetime:
    return datetime.now(UTC)


def check_namespace(namespace: object) -> str:
    # Names are shown in terminals and used as CLI arguments: a small character set
    # keeps them unambiguous (no control characters, no look-alike separators).
    if not isinstance(namespace, str) or not _NAMESPACE_RE.fullmatch(namespace):
        shown = namespace[:64] if isinstance(namespace, str) else type(namespace).__name__
        raise AgentorError(
            MemoryCode.NAMESPACE_INVALID,
            f"{shown!r} is not a namespace name",
            hint="use 1-128 characters from A-Z a-z 0-9 _ . : - (not starting with . : -)",
        )
    return namespace


def check_id(record_id: object) -> str:
    if not isinstance(record_id, str) or not _ID_RE.fullmatch(record_id):
        raise AgentorError(
            MemoryCode.RECORD_INVALID,
            "a record id is 1-128 characters from A-Z a-z 0-9 _ . : -",
        )
    return record_id


def encode_text(text: str, limits: MemoryLimits) -> bytes:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise AgentorError(
            MemoryCode.RECORD_INVALID,
            "the record's text is not valid Unicode (it holds a lone surrogate)",
            hint="remember text, not raw bytes",
        ) from None
    if len(data) > limits.max_text_bytes:
        raise AgentorError(
            MemoryCode.RECORD_TOO_LARGE,
            f"the record's text is {len(data)} bytes; at most {limits.max_text_bytes} are kept",
            hint="remember a summary, or raise max_text_bytes",
        )
    return data


def encode_metadata(metadata: dict[str, Any], limits: MemoryLimits) -> str:
    try:
        text = json.dumps(metadata, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        size = len(text.encode("utf-8"))
    except (TypeError, ValueError, UnicodeEncodeError):
        raise AgentorError(
            MemoryCode.RECORD_INVALID, "the record's metadata is not JSON text"
        ) from None
    if size > limits.max_metadata_bytes:
        raise AgentorError(
            MemoryCode.RECORD_TOO_LARGE,
            f"the record's metadata is {size} bytes; at most {limits.max_metadata_bytes} are kept",
        )
    return text


def check_record(record: MemoryRecord, limits: MemoryLimits) -> tuple[bytes, str]:
    """The record's text and metadata, encoded, if it fits; else a ``memory.*`` error."""
    if not isinstance(record, MemoryRecord):
        raise AgentorError(MemoryCode.RECORD_INVALID, "only MemoryRecord objects are stored")
    check_namespace(record.namespace)
    check_id(record.id)
    return encode_text(record.text, limits), encode_metadata(record.metadata, limits)


def new_record(
    namespace: str,
    text: str,
    labels: LabelSet,
    *,
    metadata: dict[str, Any] | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> MemoryRecord:
    """A record with a fresh random id, stamped now. Labels are required: there is no default."""
    if not isinstance(labels, LabelSet):
        raise AgentorError(MemoryCode.RECORD_INVALID, "a record needs its provenance labels")
    check_namespace(namespace)
    try:
        return MemoryRecord(
            id=secrets.token_hex(16),
            namespace=namespace,
            text=text,
            labels=labels,
            created_at=clock(),
            metadata=metadata or {},
        )
    except ValidationError as exc:
        detail = exc.errors()[0]
        where = ".".join(str(part) for part in detail["loc"])
        raise AgentorError(
            MemoryCode.RECORD_INVALID, f"record {where}: {detail['msg'][:200]}"
        ) from None
