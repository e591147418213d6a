"""Where a proposed argument's value could have come from.

Every piece of a model's context is a :class:`Segment` with its labels. For
each argument the model proposes, each string leaf (numbers too, as text) is
looked up, after normalisation, in the trusted and the untrusted segments:

- found in trusted content (the user's prompt, the operator's instructions, a
  trusted tool's output): it carries those labels;
- found only in untrusted content: it carries the untrusted segments' labels;
- found nowhere (the model composed it, or transformed it beyond recognition):
  it carries the whole context's labels, since any of it could have shaped it.

An argument's label is the join of its leaves' labels, so one untrusted leaf
makes the whole argument untrusted. Normalisation (Unicode NFKC, case folding,
whitespace collapsed, percent-encoding and HTML entities decoded) is applied
to both sides, so re-spelling a value does not launder it. Values shorter than
:data:`MIN_SUBSTRING_CHARS` must match a whole token rather than any substring,
or "1" would be found in everything; and a short value found in both trusted
and untrusted content takes both labels (untrusted), since the match may be a
coincidence.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote

from agentor_core.labels import LabelSet

MIN_SUBSTRING_CHARS: Final = 4
MAX_LEAVES: Final = 10_000
_SPACE: Final = re.compile(r"\s+")
_TOKEN: Final = re.compile(r"[\w@.+\-]+")
_WORD: Final = re.compile(r"\w+")


def normalise(text: str) -> str:
    """One spelling for matching: decoded, NFKC, case-folded, whitespace collapsed."""
    decoded = html.unescape(unquote(text)) if ("%" in text or "&" in text) else text
    folded = unicodedata.normalize("NFKC", decoded).casefold()
    return _SPACE.sub(" ", folded).strip()


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of context and its provenance."""

    text: str
    labels: LabelSet
    normalised: str = field(default="", compare=False)
    tokens: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def of(cls, text: str, labels: LabelSet) -> Segment:
        norm = normalise(text)
        # Tokens both with and without inner punctuation: "a@b.com" and "13" in "13."
        tokens = frozenset(_TOKEN.findall(norm)) | frozenset(_WORD.findall(norm))
        return cls(text, labels, norm, tokens)

    def contains(self, needle: str) -> bool:
        if len(needle) >= MIN_SUBSTRING_CHARS:
            return needle in self.normalised
        return needle in self.tokens or needle == self.normalised


def leaves(value: Any) -> Iterator[str | None]:
    """Every scalar of a JSON value as text; ``None`` for booleans and nulls (no text to trace)."""
    stack = [value]
    count = 0
    while stack:
        item = stack.pop()
        count += 1
        if count > MAX_LEAVES:
            yield None  # too many to trace: the caller falls back to the context's labels
            return
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, str):
            yield item
        elif isinstance(item, bool) or item is None:
            yield None
        else:
            yield str(item)


class Provenance:
    """The context of one run, segment by segment, and the labelling of proposed arguments."""

    def __init__(self, segments: Iterable[Segment] = ()) -> None:
        self._segments: list[Segment] = list(segments)

    def add(self, text: str, labels: LabelSet) -> None:
        if text:
            self._segments.append(Segment.of(text, labels))
        else:
            self._segments.append(Segment("", labels))

    @property
    def segments(self) -> Sequence[Segment]:
        return tuple(self._segments)

    def context_labels(self) -> LabelSet:
        result = LabelSet()
        for segment in self._segments:
            result = result.join(segment.labels)
        return result

    def label_value(self, value: Any) -> LabelSet:
        """The labels of one argument value (the join over its leaves)."""
        context = self.context_labels()
        result = LabelSet()
        for leaf in leaves(value):
            result = result.join(self._label_leaf(leaf, context))
        return result

    def _label_leaf(self, leaf: str | None, context: LabelSet) -> LabelSet:
        if leaf is None:
            return context
        needle = normalise(leaf)
        if not needle:
            return LabelSet()  # an empty string carries no data
        trusted = [s.labels for s in self._segments if s.labels.is_trusted and s.contains(needle)]
        untrusted = [
            s.labels for s in self._segments if not s.labels.is_trusted and s.contains(needle)
        ]
        # A short value found on both sides ("13", "yes") says nothing about where it
        # came from: coincidence is likely, so it takes both sides' labels (fail closed).
        found = trusted + untrusted if len(needle) < MIN_SUBSTRING_CHARS else trusted or untrusted
        if not found:
            return context
        joined = LabelSet()
        for labels in found:
            joined = joined.join(labels)
        return joined

    def label_arguments(self, arguments: dict[str, Any]) -> dict[str, LabelSet]:
        return {name: self.label_value(value) for name, value in arguments.items()}
