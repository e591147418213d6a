"""The manifest a component returns from ``describe()``, parsed as untrusted input."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agentor_core.bounds import MAX_LIST_ITEMS, Name
from agentor_core.capabilities import Capabilities
from agentor_core.tools import ToolSpec

MAX_MANIFEST_BYTES: Final = 1024 * 1024


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    tools: tuple[ToolSpec, ...] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    requests: Capabilities = Field(default_factory=Capabilities)
