"""Provenance labels: where a piece of data came from, how far to trust it, who may see it.

The runtime attaches labels to everything in a model's context and to every
argument a model proposes; the policy decides on them. Combining labels is a
join in a lattice: trust only ever goes down, confidentiality only ever up, so
mixing untrusted data into a value can never make it look trusted.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_serializer


class Source(StrEnum):
    """Where data entered the system."""

    USER = "user"
    """The user's own prompt."""
    SYSTEM = "system"
    """The operator's instructions or configuration."""
    TRUSTED_TOOL = "trusted_tool"
    """Output of a tool the operator's policy declared trusted."""
    UNTRUSTED_TOOL = "untrusted_tool"
    """Output of any other tool, including every outside MCP server by default."""
    DOCUMENT = "document"
    """A file, web page, e-mail or resource: content that anybody could have written."""
    MODEL = "model"
    """Text the model produced that cannot be traced to any input."""


class Trust(StrEnum):
    TRUSTED = "trusted"
    UNTRUSTED = "untrusted"


class Confidentiality(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


_DEFAULT_TRUST: Final = {
    Source.USER: Trust.TRUSTED,
    Source.SYSTEM: Trust.TRUSTED,
    Source.TRUSTED_TOOL: Trust.TRUSTED,
    Source.UNTRUSTED_TOOL: Trust.UNTRUSTED,
    Source.DOCUMENT: Trust.UNTRUSTED,
    Source.MODEL: Trust.UNTRUSTED,
}


class Label(BaseModel):
    """The provenance of one piece of data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Source
    trust: Trust
    confidentiality: Confidentiality = Confidentiality.PUBLIC

    @classmethod
    def of(cls, source: Source, *, private: bool = False) -> Label:
        """The label a source gets by default (trusted only for user, system, trusted tools)."""
        return cls(
            source=source,
            trust=_DEFAULT_TRUST[source],
            confidentiality=Confidentiality.PRIVATE if private else Confidentiality.PUBLIC,
        )


class LabelSet(BaseModel):
    """Every source that may have contributed to a value, and the joined trust and secrecy.

    An empty set means "no data": trusted and public. Anything joined in can only
    lower trust or raise confidentiality.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: frozenset[Source] = Field(default_factory=frozenset, max_length=len(Source))
    trust: Trust = Trust.TRUSTED
    confidentiality: Confidentiality = Confidentiality.PUBLIC

    @field_serializer("sources", when_used="json")
    def _sorted_sources(self, value: frozenset[Source]) -> list[Source]:
        # Set iteration order varies with PYTHONHASHSEED; digests must not.
        return sorted(value)

    @classmethod
    def of(cls, *labels: Label) -> LabelSet:
        result = cls()
        for label in labels:
            result = result.join(
                cls(
                    sources=frozenset({label.source}),
                    trust=label.trust,
                    confidentiality=label.confidentiality,
                )
            )
        return result

    def join(self, other: LabelSet) -> LabelSet:
        """The least upper bound: union of sources, the lower trust, the higher secrecy."""
        return LabelSet(
            sources=self.sources | other.sources,
            trust=Trust.UNTRUSTED
            if Trust.UNTRUSTED in (self.trust, other.trust)
            else Trust.TRUSTED,
            confidentiality=Confidentiality.PRIVATE
            if Confidentiality.PRIVATE in (self.confidentiality, other.confidentiality)
            else Confidentiality.PUBLIC,
        )

    @property
    def is_trusted(self) -> bool:
        return self.trust is Trust.TRUSTED

    @property
    def is_private(self) -> bool:
        return self.confidentiality is Confidentiality.PRIVATE
