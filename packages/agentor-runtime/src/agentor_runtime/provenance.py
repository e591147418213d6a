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

Trusted content is of two kinds. What the user or the operator wrote says what
they want: a value found there is theirs. What a trusted tool (or a system
field of a tool's structured output, see :meth:`Provenance.add_structured`)
returned is genuine data, but it does not say which of it the user wanted: a
value found there *and* named in untrusted text may have been chosen by that
text ("delete file 13", "pay the sender of this invoice"), so it takes both
labels.

Destinations written inside free text (URLs, e-mail addresses) are labelled on
their own too (:meth:`Provenance.label_embedded`): whoever reads a message
follows the link in it, so a policy can judge that link like a recipient. A
destination is trusted only if trusted content wrote that *whole* destination
(:meth:`Provenance.label_destination`): a piece of a trusted link is another
link ("https://example.co" inside "https://example.com.au", "bob@example.com"
inside "bob@example.com.au"), and a host compared after case folding is
another host ("claß.example" is not "class.example" to a browser).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote

from agentor_core.labels import LabelSet, Source

MIN_SUBSTRING_CHARS: Final = 4
MAX_LEAVES: Final = 10_000
_SPACE: Final = re.compile(r"\s+")
_TOKEN: Final = re.compile(r"[\w@.+\-]+")
_WORD: Final = re.compile(r"\w+")
_INTENT: Final = frozenset({Source.USER, Source.SYSTEM})
ROOT_FIELD: Final = "$"
"""The field name of items of a bare top-level list, or of a bare scalar output."""
MAX_EMBEDDED: Final = 256
# Destinations a reader of free text would follow: scheme URLs, "www." hosts, e-mail
# addresses. Bare host names ("example.com") are not recognised: too many file names
# ("notes.docx") look the same. A link runs to the first space or angle bracket, as
# GFM autolinks and browsers read it: a quote or backtick does not end it, since
# "https://example.com'@evil.test/" goes to evil.test (what precedes "@" is a user
# name). A Markdown "](" does end it: "[https://a.example](https://b.example)" is two.
# A browser reads "https:" and any run of "/" and "\\" (even none) as a link to the host
# after it; a link target starting with "//" (Markdown "](//", HTML '="//') takes the
# page's scheme and leaves for the host it names.
_LINK_CHARS: Final = r"(?:(?!\]\()[^\s<>])+"
_SPECIAL: Final = r"(?:https?|wss?|ftp):[\\/]*"
_DESTINATION: Final = re.compile(
    rf"(?:[a-z][a-z0-9+.\-]{{1,15}}://{_LINK_CHARS}"
    rf"|\b{_SPECIAL}(?=[\w%\[]){_LINK_CHARS}"
    rf"|(?:(?<=\]\()|(?<==[\"'])|(?<==))//{_LINK_CHARS}"
    rf"|\bwww\.{_LINK_CHARS}"
    # An address starts where a run of its characters starts (no retry inside a long
    # run, which made the scan quadratic) and its local part has at most 64 (RFC 5321).
    r"|(?<![\w.+\-])[\w.+\-]{1,64}@[\w\-]+(?:\.[\w\-]+)+)",
    re.IGNORECASE,
)
# Punctuation that ends a sentence or closes a quote, bracket or emphasis around a link.
_TRAILING: Final = ".,;:!?)]}>'\"`*_~"
_AUTHORITY_END: Final = re.compile(r"[/?#\\]")
_QUOTES: Final = re.compile("[\"'`]")
_SPECIAL_PREFIX: Final = re.compile(_SPECIAL, re.IGNORECASE)


def embedded_destinations(text: str) -> list[str]:
    """URLs, ``www.`` hosts and e-mail addresses written in ``text`` (at most 256)."""
    return _all_destinations(text, limit=MAX_EMBEDDED)


def _all_destinations(text: str, *, limit: int | None = None) -> list[str]:
    found: dict[str, None] = {}  # ordered and de-duplicated in linear time
    for match in _DESTINATION.finditer(text):
        for destination in _readings(match.group(0)):
            if destination:
                found[destination] = None
                if limit is not None and len(found) >= limit:
                    return list(found)
    return list(found)


def _readings(link: str) -> list[str]:
    """The link to the first space, and, if quotes are in it, the links between them.

    A renderer may end a link at a quote ('"https://a.example","https://b.example"'
    names two) or not ("https://example.com'@evil.test/" is one, to evil.test): each
    reading is a destination, so the judgement covers whichever the reader follows.
    """
    readings = [link.rstrip(_TRAILING)]
    cut = _sentence_end(link)
    if cut is not None:
        readings.append(cut)
    if _QUOTES.search(link):
        for piece in _QUOTES.split(link):
            readings.extend(m.group(0).rstrip(_TRAILING) for m in _DESTINATION.finditer(piece))
    return readings


def _sentence_end(link: str) -> str | None:
    """The link cut where a sentence runs on without a space: "www.a.example.They went".

    Host names are written in lower case; a dot followed by a capital letter, before
    the host ends, is read as a full stop too, so the host before it is also a reading.
    Only in the host (a path's "/a.Html" is not cut), and only if what is left is a
    whole destination itself.
    """
    scheme_end = link.find("//")
    # The host starts after "scheme://" (or a leading "//"), not after a "//" in a path.
    start = (
        scheme_end + 2 if scheme_end != -1 and not _AUTHORITY_END.search(link[:scheme_end]) else 0
    )
    end = _AUTHORITY_END.search(link, start)
    stop = end.start() if end else len(link)  # past the host: a path, not a sentence
    dot = link.find(".", 0, stop)
    while dot != -1:
        if dot + 1 < len(link) and link[dot + 1].isupper():
            head = link[:dot]
            return head if _DESTINATION.fullmatch(head) else None
        dot = link.find(".", dot + 1, stop)
    return None


def destination_key(destination: str) -> str:
    """One spelling of a destination, for comparing whole destinations.

    The scheme and host, and a whole e-mail address, are compared as a browser or a
    mail system reads them: NFKC and lower case (``str.lower``, not case folding,
    which turns "ß" into "ss" where IDNA does not). A URL's path and query are
    compared exactly: they are case-sensitive, and a re-spelled one is another link
    (it then fails closed: not found in trusted content).
    """
    special = _SPECIAL_PREFIX.match(destination)
    if special:  # "https:\\host" and "https:host" are "https://host" to a browser
        prefix = destination[: destination.index(":")].lower() + "://"
        rest = destination[special.end() :]
    elif destination[:4].lower() == "www.":
        prefix, rest = "", destination
    elif "//" in destination:  # "scheme://host..." or "//host..."
        scheme, rest = destination.split("//", 1)
        prefix = scheme.lower() + "//"
    else:  # an e-mail address: mail systems do not tell "Bob" from "bob"
        return unicodedata.normalize("NFKC", destination).lower()
    end = _AUTHORITY_END.search(rest)
    cut = end.start() if end else len(rest)
    host, path = unicodedata.normalize("NFKC", rest[:cut]).lower(), rest[cut:]
    return prefix + host + ("" if path == "/" else path)


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
    exact: bool = field(default=False, compare=False)
    """Whole values only (``tokens``): identities such as ids, addresses, handles."""
    destinations: frozenset[str] = field(default=frozenset(), compare=False)
    """The whole destinations written here, spelled by :func:`destination_key`."""

    @classmethod
    def of(cls, text: str, labels: LabelSet) -> Segment:
        norm = normalise(text)
        # Tokens both with and without inner punctuation: "a@b.com" and "13" in "13."
        tokens = frozenset(_TOKEN.findall(norm)) | frozenset(_WORD.findall(norm))
        # Only trusted content vouches for a destination: untrusted text is not scanned.
        found = (
            frozenset(destination_key(d) for d in _all_destinations(text))
            if labels.is_trusted
            else frozenset()
        )
        return cls(text, labels, norm, tokens, destinations=found)

    @classmethod
    def of_values(cls, values: Iterable[str], labels: LabelSet) -> Segment:
        """Values that match only as a whole: a piece of one is not found here."""
        values = list(values)
        norm = frozenset(n for n in (normalise(v) for v in values) if n)
        # A value that is one destination and nothing else (an address field) is one.
        found = frozenset(
            destination_key(v)
            for v in values
            if labels.is_trusted and _all_destinations(v) == [v.strip()]
        )
        return cls("", labels, "", norm, exact=True, destinations=found)

    def contains(self, needle: str) -> bool:
        if self.exact:
            return needle in self.tokens
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


def _structured_leaves(data: Any, fields: frozenset[str]) -> tuple[list[str], list[str], bool]:
    """Split a JSON value's scalars into system-field values and the rest.

    A scalar belongs to the nearest dict key above it (``$`` when there is none).
    The third item says the walk stopped at :data:`MAX_LEAVES`.
    """
    system: list[str] = []
    other: list[str] = []
    stack: list[tuple[Any, str]] = [(data, ROOT_FIELD)]
    count = 0
    while stack:
        item, key = stack.pop()
        count += 1
        if count > MAX_LEAVES:
            return system, other, True
        if isinstance(item, dict):
            stack.extend((v, str(k)) for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((v, key) for v in item)
        elif isinstance(item, bool) or item is None:
            continue  # no text to trace
        else:
            (system if key in fields else other).append(str(item))
    return system, other, False


class Provenance:
    """The context of one run, segment by segment, and the labelling of proposed arguments."""

    def __init__(self, segments: Iterable[Segment] = ()) -> None:
        self._segments: list[Segment] = list(segments)

    def add(self, text: str, labels: LabelSet) -> None:
        if text:
            self._segments.append(Segment.of(text, labels))
        else:
            self._segments.append(Segment("", labels))

    def add_structured(
        self,
        data: Any,
        labels: LabelSet,
        *,
        system_fields: Iterable[str],
        system_labels: LabelSet,
    ) -> None:
        """A tool's structured output, field by field.

        Values under a key in ``system_fields`` (filled in by the system: ids,
        account handles, addresses, dates) take ``system_labels`` when an argument
        is exactly one of them; every other value (free text somebody wrote) takes
        ``labels``. Beyond :data:`MAX_LEAVES` values the whole output takes ``labels``.
        """
        system, other, truncated = _structured_leaves(data, frozenset(system_fields))
        if truncated:
            system, other = [], [*system, *other]
        if system:
            # A system value is an identity: the argument must be that whole value. A
            # piece of one (a link inside a channel's name) is found nowhere, so it
            # takes the context's labels, which include this output's own.
            self._segments.append(
                Segment.of_values(system, system_labels.join(_confidentiality(labels)))
            )
        # Free-text values are joined with newlines: a match spanning two of them is
        # made of untrusted data only.
        self.add("\n".join(other), labels)

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
        if _all_destinations(leaf, limit=2) == [leaf.strip()]:
            # A value that is a link or an address (a recipient, a URL to fetch) is judged
            # like a link in a text: trusted only where trusted content wrote it whole.
            return self._label_destination(leaf.strip(), context)
        trusted = [s.labels for s in self._segments if s.labels.is_trusted and s.contains(needle)]
        untrusted = [
            s.labels for s in self._segments if not s.labels.is_trusted and s.contains(needle)
        ]
        return _combine(needle, trusted, untrusted, context)

    def label_destination(self, destination: str) -> LabelSet:
        """The labels of one link or address: trusted only where trusted content wrote it whole.

        Untrusted content is searched like any value (a piece of an untrusted text is
        untrusted); found nowhere, it takes the whole context's labels.
        """
        return self._label_destination(destination, self.context_labels())

    def _label_destination(self, destination: str, context: LabelSet) -> LabelSet:
        needle = normalise(destination)
        if not needle:
            return LabelSet()
        key = destination_key(destination)
        trusted = [
            s.labels for s in self._segments if s.labels.is_trusted and key in s.destinations
        ]
        untrusted = [
            s.labels for s in self._segments if not s.labels.is_trusted and s.contains(needle)
        ]
        return _combine(needle, trusted, untrusted, context)

    def label_arguments(self, arguments: dict[str, Any]) -> dict[str, LabelSet]:
        return {name: self.label_value(value) for name, value in arguments.items()}

    def label_embedded(self, arguments: dict[str, Any]) -> dict[str, LabelSet]:
        """For each argument with destinations written in its text, the join of their labels."""
        result: dict[str, LabelSet] = {}
        for name, value in arguments.items():
            found = [d for leaf in leaves(value) if leaf for d in embedded_destinations(leaf)]
            if found:
                labels = LabelSet()
                for destination in found[:MAX_EMBEDDED]:
                    labels = labels.join(self.label_destination(destination))
                result[name] = labels
        return result


def _combine(
    needle: str, trusted: list[LabelSet], untrusted: list[LabelSet], context: LabelSet
) -> LabelSet:
    """The labels of a value found in these trusted and these untrusted segments."""
    intent = [labels for labels in trusted if labels.sources <= _INTENT]
    if len(needle) < MIN_SUBSTRING_CHARS:
        # A short value found on both sides ("13", "yes") says nothing about where it
        # came from: coincidence is likely, so it takes both sides' labels (fail closed).
        found = trusted + untrusted
    elif intent:
        found = intent  # the user or the operator wrote it: it is what they asked for
    elif trusted and untrusted:
        # Genuine data (an id, a directory entry) that untrusted text also names:
        # that text may have picked it, so it takes both labels.
        found = trusted + untrusted
    else:
        found = trusted or untrusted
    if not found:
        return context
    joined = LabelSet()
    for labels in found:
        joined = joined.join(labels)
    return joined


def _confidentiality(labels: LabelSet) -> LabelSet:
    """Only the secrecy of ``labels`` (a private output's system fields stay private)."""
    return LabelSet(confidentiality=labels.confidentiality)


MIN_SPAN_WORDS: Final = 6
MAX_ANSWER_WORDS: Final = 4_000
# A word without the punctuation around it, so "town." matches "town" in the source.
_WORD_SPAN: Final = re.compile(r"\w+(?:['\u2019.\-]\w+)*")


def untrusted_spans(
    answer: str, context: Iterable[tuple[str, LabelSet]], *, min_words: int = MIN_SPAN_WORDS
) -> tuple[tuple[int, int], ...]:
    """Character ranges of ``answer`` copied from untrusted content, for marking it.

    A range is a run of at least ``min_words`` words whose normalised text occurs
    in some untrusted piece of ``context`` and in no trusted one: a sentence the
    answer repeats from an e-mail, a review or a web page, which the person reading
    the answer should see as quoted, not as the assistant's own finding. Only
    verbatim copies are found (a paraphrase is not); the first 4,000 words are read.
    """
    untrusted: list[str] = []
    trusted: list[str] = []
    for text, labels in context:
        if text:
            (trusted if labels.is_trusted else untrusted).append(normalise(text))
    if not untrusted or min_words < 1:
        return ()
    words = [(m.start(), m.end()) for m in _WORD_SPAN.finditer(answer)][:MAX_ANSWER_WORDS]

    def copied(first: int, last: int) -> bool:
        needle = normalise(answer[words[first][0] : words[last][1]])
        return any(needle in u for u in untrusted) and not any(needle in t for t in trusted)

    spans: list[tuple[int, int]] = []
    i = 0
    while i + min_words <= len(words):
        last = i + min_words - 1
        if not copied(i, last):
            i += 1
            continue
        while last + 1 < len(words) and copied(i, last + 1):
            last += 1
        spans.append((words[i][0], words[last][1]))
        i = last + 1
    return tuple(spans)
