"""What reflecting a generic WebAssembly component yields: its exports as tool specs.

The mapping from WIT types to JSON Schema needs wasmtime's type reflection, so
it lives with the sandbox that also converts the values; distributions that
only need the specs (inspection, manifests) ask a
:class:`~agentor_core.interfaces.ComponentReflector` found by entry point.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agentor_core.bounds import MAX_LIST_ITEMS, Name, Reason
from agentor_core.tools import ToolSpec


class SkippedExport(BaseModel):
    """An exported function that is not a tool, and why (e.g. it takes a resource)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    reason: Reason


class ComponentReflection(BaseModel):
    """The tools of a generic component: one per exported function with a JSON form."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tools: tuple[ToolSpec, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)
    skipped: tuple[SkippedExport, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)
