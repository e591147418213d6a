"""Records an agent remembers, each with the provenance it was written with."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from agentor_core.bounds import BoundedJsonObject, Text
from agentor_core.labels import LabelSet


class MemoryRecord(BaseModel):
    """A remembered text. Its labels travel with it: recalling untrusted text keeps it untrusted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    namespace: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    text: Text
    labels: LabelSet
    created_at: AwareDatetime
    metadata: BoundedJsonObject = Field(default_factory=dict)
