"""The guard's own caps on size and time, set by the operator (not by a grant)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentor_core.egress import MAX_BODY_BYTES


class EgressLimits(BaseModel):
    """Bounds on every exchange. Defaults suit API calls; all are hard-capped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_request_body_bytes: Annotated[int, Field(ge=0, le=MAX_BODY_BYTES)] = 8 * 1024 * 1024
    max_response_body_bytes: Annotated[int, Field(ge=0, le=MAX_BODY_BYTES)] = 8 * 1024 * 1024
    max_redirects: Annotated[int, Field(ge=0, le=20)] = 5
    connect_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    read_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    """The longest wait for any single read or write on the socket."""
    total_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    """The whole exchange, redirects included. A server trickling bytes (slow loris)
    is cut here; the bound is ``total_timeout_s`` plus at most one ``read_timeout_s``."""
    on_echo: Literal["refuse", "redact"] = "refuse"
    """What to do when a response carries a known secret value."""
    max_pooled_origins: Annotated[int, Field(ge=1, le=1024)] = 32
    """Keep-alive connection pools kept, one per (origin, checked address)."""
