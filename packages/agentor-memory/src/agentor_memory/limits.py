"""The bounds of a store: every one configurable, every default safe."""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentor_core.errors import AgentorError
from agentor_memory.codes import MemoryCode

KIB: Final = 1024
MIB: Final = 1024 * KIB


class MemoryLimits(BaseModel):
    """Bounds applied to every record and query. Defaults suit one user's agents."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_text_bytes: Annotated[int, Field(ge=1, le=4 * MIB)] = 64 * KIB
    """UTF-8 size of one record's text; larger records are refused, never truncated."""
    max_metadata_bytes: Annotated[int, Field(ge=2, le=1 * MIB)] = 16 * KIB
    """Size of one record's metadata as compact JSON."""
    max_records_per_namespace: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000
    """Retention by count: adding one more evicts the oldest of the namespace."""
    max_age_s: Annotated[float, Field(gt=0, le=100 * 365 * 86_400)] | None = None
    """Retention by age: older records are never returned and are evicted on the next add."""
    max_db_bytes: Annotated[int, Field(ge=256 * KIB, le=1024 * 1024 * MIB)] = 256 * MIB
    """Size cap of the database file; a write beyond it fails with ``memory.store_full``."""
    max_query_chars: Annotated[int, Field(ge=1, le=64 * KIB)] = 1024
    max_query_terms: Annotated[int, Field(ge=1, le=256)] = 32
    max_results: Annotated[int, Field(ge=1, le=10_000)] = 100
    busy_timeout_s: Annotated[float, Field(ge=0, le=600)] = 10.0
    """How long a writer waits for another process's write lock."""


def limits_from(options: dict[str, Any]) -> MemoryLimits:
    """Limits from configuration, with a ``memory.limits_invalid`` error naming the bad key."""
    try:
        return MemoryLimits.model_validate(options)
    except ValidationError as exc:
        detail = exc.errors()[0]
        where = ".".join(str(part) for part in detail["loc"]) or "limits"
        raise AgentorError(
            MemoryCode.LIMITS_INVALID,
            f"memory limit {where}: {detail['msg'][:200]}",
            hint="see the default limits in agentor-memory's README",
        ) from None
