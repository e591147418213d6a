"""Operator regular expressions run with Python ``re`` meaning and a time bound.

A policy's ``pattern`` and ``matches`` are written by the operator but run
against arguments a model proposes. Python's ``re`` backtracks without bound, so
a pattern such as ``(a+)+$`` lets one proposed argument hold a CPU inside
``decide()`` for minutes. The ``regex`` package runs the same syntax (its
``VERSION0`` mode) with a ``timeout``; RE2 was refused because it has no
look-around, which policies use.

``regex`` is not ``re`` in three places a policy can reach, so every pattern is
rewritten once, at load, before ``regex`` compiles it:

- ``\\w \\W \\s \\S \\d \\D``: ``regex`` follows its own (newer) Unicode tables and
  Unicode's definition of a word character, ``re`` follows ``str.isalnum()``,
  ``str.isspace()`` and ``str.isdecimal()`` of the running Python (``\\s`` differs
  on ``\\x1c``-``\\x1f``, ``\\w`` on about 30,000 characters such as ``²`` and
  combining marks). Each becomes an explicit character set computed from the
  running ``re`` itself, so the sets agree by construction.
- ``\\b \\B``: rebuilt from that word set with look-arounds (and ``\\B`` keeps
  ``re``'s refusal to match in an empty string on Python < 3.14).
- ``{``: ``re`` reads a brace that is not a well-formed ``{m,n}`` as a literal,
  ``regex`` may read it as a fuzzy-matching constraint (``a{e<=1}``); such braces
  are escaped.

Case-insensitive patterns (``(?i)``) are refused at load: the two engines fold
a few letters differently (dotless i, dotted capital I, letters given case
after Unicode 14), and spelling that out would mean re-implementing ``re``'s
case tables.

The bound is ``regex``'s ``timeout``, which it measures on the *process* CPU
clock: CPU contention stretches it in wall time, and other threads' CPU time in
the same process counts against it (a busy host reaches it sooner: more denials,
never fewer).

Patterns are checked by ``re`` first (:mod:`agentor_policy.model`), so only
syntax both engines share reaches this module; ``regex``-only syntax (``\\p{…}``,
fuzzy matching, ``(?V1)``) is refused at load because ``re`` refuses it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from enum import Enum
from functools import cache, lru_cache
from typing import Any, Final

import regex  # type: ignore[import-untyped]  # regex ships no type information

PATTERN_TIMEOUT_SECONDS: Final = 0.05
"""Bound (process CPU seconds) on one evaluation of one pattern against a short value."""
PATTERN_TIMEOUT_PER_MIB_SECONDS: Final = 0.5
"""Added to the bound per MiB (2**20 characters) of the value.

Honest linear patterns cost up to about 0.13 s per MiB here (``\\w+``, spelled out
as ``re``'s set), so a flat bound would refuse long honest values; backtracking
patterns are still cut off at 0.55 s on the longest string a call may carry
(1 MiB). A value that runs past the bound counts against the call."""
_PER_CHAR_SECONDS: Final = PATTERN_TIMEOUT_PER_MIB_SECONDS / 2**20

MAX_EXPANDED_CHARS: Final = 4_000_000
"""The largest pattern ``regex`` is asked to compile, in characters of the rewritten
pattern with ``{m}`` / ``{m,n}`` repeats copied ``m`` times (about 20 MB, 0.3 s)."""
_COMPILED_CACHE: Final = 1024
_SHORTHANDS: Final = frozenset({"w", "W", "s", "S", "d", "D"})
_QUANTIFIER: Final = re.compile(r"\{([0-9]*)(?:(,)([0-9]*))?\}")
_SCOPED_FLAGS: Final = re.compile(r"\(\?([aiLmsux]*)(?:-([imsx]+))?:")
_GLOBAL_FLAGS: Final = re.compile(r"\(\?[aiLmsux]+\)")
# On Python < 3.14 ``re`` refuses ``\B`` in an empty string; whatever this Python does is kept.
_NON_BOUNDARY_IN_EMPTY: Final = re.search(r"\B", "") is not None
_NO_IGNORECASE: Final = (
    "case-insensitive matching ((?i)) is not supported in policies: the bounded engine "
    "folds some letters differently from Python's re (dotless i, dotted I, letters "
    "given case after Unicode 14); spell the cases out instead, e.g. [Aa]"
)


class Outcome(Enum):
    """The result of running a pattern: a match, none, or no answer within the bound."""

    MATCH = "match"
    NO_MATCH = "no_match"
    TIMED_OUT = "timed_out"


@cache
def _classes(ascii_only: bool) -> dict[str, tuple[tuple[int, int], ...]]:
    """The code-point ranges the running ``re`` gives ``\\w``, ``\\s`` and ``\\d``.

    Asked of ``re`` itself, over every code point in order (surrogates too: a str
    may hold them), so each run of matches is one range: about 0.1 s once per process.
    """
    flag = "(?a)" if ascii_only else ""
    universe = "".join(map(chr, range(128 if ascii_only else sys.maxunicode + 1)))
    return {
        shorthand: tuple(
            (found.start(), found.end() - 1)
            for found in re.finditer(flag + "\\" + shorthand + "+", universe)
        )
        for shorthand in "wsd"
    }


def _complement(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    start = 0
    for low, high in ranges:
        if low > start:
            out.append((start, low - 1))
        start = high + 1
    if start <= sys.maxunicode:
        out.append((start, sys.maxunicode))
    return tuple(out)


@cache
def _set_body(shorthand: str, ascii_only: bool) -> str:
    """The inside of a character set equal to ``re``'s ``\\<shorthand>`` (any case)."""
    ranges = _classes(ascii_only)[shorthand.lower()]
    if shorthand.isupper():
        ranges = _complement(ranges)
    return "".join(
        f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges
    )


def _boundary(negated: bool, ascii_only: bool) -> str:
    word = "[" + _set_body("w", ascii_only) + "]"
    if not negated:
        return f"(?:(?<={word})(?!{word})|(?<!{word})(?={word}))"
    inside = f"(?:(?<={word})(?={word})|(?<!{word})(?!{word}))"
    if _NON_BOUNDARY_IN_EMPTY:
        return inside
    return f"(?:{inside}(?:(?=(?s:.))|(?<=(?s:.))))"


@dataclass(frozen=True, slots=True)
class _Mode:
    verbose: bool
    ascii_only: bool


def _escape_token(pattern: str, i: int) -> int:
    """The index after the escape starting at ``pattern[i] == '\\'`` (``\\N{…}`` whole)."""
    if pattern.startswith("N{", i + 1):
        close = pattern.find("}", i + 3)
        return len(pattern) if close < 0 else close + 1
    return min(i + 2, len(pattern))


def translate(pattern: str) -> str:
    """``pattern`` (valid for ``re``) rewritten so that ``regex`` gives it ``re``'s meaning.

    Raises ``ValueError`` for a case-insensitive pattern.
    """
    flags = re.compile(pattern).flags
    if flags & re.IGNORECASE:
        raise ValueError(_NO_IGNORECASE)
    return _Translator(pattern, _Mode(bool(flags & re.VERBOSE), bool(flags & re.ASCII))).run()


@dataclass(frozen=True, slots=True)
class _Group:
    """What an open group interrupted: the mode and the size of the sequence before it."""

    mode: _Mode
    size: int
    last: int


class _Translator:
    """One left-to-right pass over a pattern, reading it the way ``re``'s parser does.

    It also adds up the size of the pattern ``regex`` will compile: ``regex``
    copies an item ``m`` times for ``{m}`` or ``{m,n}``, so ``(?:\\w{100}){100}``
    (ten thousand copies of the large ``\\w`` set) would take 0.7 GB at load.
    """

    def __init__(self, pattern: str, mode: _Mode) -> None:
        self.pattern = pattern
        self.mode = mode
        self.stack: list[_Group] = []
        self.out: list[str] = []
        self.i = 0
        self.size = 0
        """Characters of the output so far in the current group, with repeats copied."""
        self.last = 0
        """The same for the last item, which a quantifier repeats."""

    def run(self) -> str:
        pattern = self.pattern
        while self.i < len(pattern):
            char = pattern[self.i]
            if char == "\\":
                self._escape()
            elif char == "[":
                start = len(self.out)
                self.i = _translate_set(pattern, self.i, self.mode, self.out)
                self._item(sum(map(len, self.out[start:])))
            elif char == "(":
                self._open()
            elif char == ")":
                self._close()
            elif char == "{":
                self._brace()
            elif char == "#" and self.mode.verbose:
                # A comment to the end of the line, dropped (an escaped newline does not end it).
                self._skip_until("\n")
            else:
                self._emit(char)
                self.i += 1
        if self.size > MAX_EXPANDED_CHARS:
            raise ValueError(
                f"the pattern is too large once its repeats are expanded ({self.size:,} > "
                f"{MAX_EXPANDED_CHARS:,} characters; \\w alone is {len(_set_body('w', False)):,}): "
                "repeat large sets fewer times, e.g. \\w{1,64} rather than \\w{64}"
            )
        return "".join(self.out)

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self._item(len(text))

    def _item(self, size: int) -> None:
        self.last = size
        self.size += size

    def _close(self) -> None:
        self.out.append(")")
        self.i += 1
        if self.stack:
            group = self.stack.pop()
            inner = self.size + 1
            self.mode, self.size = group.mode, group.size
            self._item(inner)

    def _skip_until(self, stop: str) -> None:
        pattern = self.pattern
        while self.i < len(pattern) and pattern[self.i] != stop:
            self.i = _escape_token(pattern, self.i) if pattern[self.i] == "\\" else self.i + 1

    def _escape(self) -> None:
        end = _escape_token(self.pattern, self.i)
        token = self.pattern[self.i : end]
        if token[1:] in _SHORTHANDS:
            self._emit("[" + _set_body(token[1], self.mode.ascii_only) + "]")
        elif token[1:] in {"b", "B"}:
            self._emit(_boundary(token[1] == "B", self.mode.ascii_only))
        else:
            self._emit(token)
        self.i = end

    def _open(self) -> None:
        pattern, i = self.pattern, self.i
        if pattern.startswith("(?#", i):
            # A comment, dropped; re reads an escape inside it as one token.
            self.i += 3
            self._skip_until(")")
            self.i += 1
            return
        flag_group = _GLOBAL_FLAGS.match(pattern, i)
        if flag_group is not None:
            # Global flags are already in the mode; the group opens nothing.
            self.out.append(flag_group.group(0))
            self.i = flag_group.end()
            return
        self.stack.append(_Group(self.mode, self.size, self.last))
        self.size = self.last = 0
        scoped = _SCOPED_FLAGS.match(pattern, i)
        if scoped is None:
            self.out.append("(")
            self.i += 1
            return
        added, removed = scoped.group(1), scoped.group(2) or ""
        if "i" in added:
            raise ValueError(_NO_IGNORECASE)
        self.mode = _Mode(
            verbose=(self.mode.verbose or "x" in added) and "x" not in removed,
            ascii_only=self.mode.ascii_only or "a" in added,
        )
        self.out.append(scoped.group(0))
        self.i = scoped.end()

    def _brace(self) -> None:
        # re reads '{' as a literal unless it opens a well-formed {m,n}; regex might
        # read it as a fuzzy-matching constraint, so a literal brace is escaped.
        quantifier = _QUANTIFIER.match(self.pattern, self.i)
        if quantifier is None or quantifier.group(0) == "{}":
            self._emit("\\{")
            self.i += 1
            return
        low, comma, high = quantifier.groups()
        self.out.append("{" + (low or "0") + ("," + high if comma else "") + "}")
        self.i = quantifier.end()
        copies = max(1, int(low or "0"))
        self.size += self.last * (copies - 1)
        self.last *= copies


def _translate_set(pattern: str, i: int, mode: _Mode, out: list[str]) -> int:
    """Copy the character set opening at ``pattern[i]``; return the index after it."""
    n = len(pattern)
    out.append("[")
    i += 1
    if i < n and pattern[i] == "^":
        out.append("^")
        i += 1
    if i < n and pattern[i] == "]":
        # A ']' first in a set is a literal to re.
        out.append("\\]")
        i += 1
    while i < n and pattern[i] != "]":
        char = pattern[i]
        if char == "\\":
            end = _escape_token(pattern, i)
            token = pattern[i:end]
            if token[1:] in _SHORTHANDS:
                out.append(_set_body(token[1], mode.ascii_only))
            else:
                out.append(token)
            i = end
        elif char == "[":
            out.append("\\[")
            i += 1
        else:
            out.append(char)
            i += 1
    out.append("]")
    return i + 1


def time_bound(chars: int) -> float:
    """Seconds one evaluation may take on a value of ``chars`` characters."""
    return PATTERN_TIMEOUT_SECONDS + chars * _PER_CHAR_SECONDS


@dataclass(frozen=True, slots=True)
class BoundedPattern:
    """A compiled operator pattern; every evaluation is bounded by :func:`time_bound`."""

    source: str
    compiled: Any
    """A ``regex.Pattern`` (``regex`` ships no types)."""

    def fullmatch(self, value: str) -> Outcome:
        """Whether the whole of ``value`` matches (``ArgConstraint.pattern``)."""
        try:
            found = self.compiled.fullmatch(value, timeout=time_bound(len(value)))
        except TimeoutError:
            return Outcome.TIMED_OUT
        return Outcome.NO_MATCH if found is None else Outcome.MATCH

    def search(self, value: str) -> Outcome:
        """Whether the pattern matches somewhere in ``value`` (``Condition.matches``)."""
        try:
            found = self.compiled.search(value, timeout=time_bound(len(value)))
        except TimeoutError:
            return Outcome.TIMED_OUT
        return Outcome.NO_MATCH if found is None else Outcome.MATCH


@lru_cache(maxsize=_COMPILED_CACHE)
def bounded(pattern: str) -> BoundedPattern:
    """Compile ``pattern`` (already accepted by ``re``) for bounded evaluation.

    Raises ``ValueError`` when the pattern is refused here (case-insensitive) or
    ``regex`` refuses the rewritten pattern, so the policy is refused at load
    (``policy.invalid``) rather than failing at a call.
    """
    try:
        compiled = regex.compile(translate(pattern), flags=regex.VERSION0)
    except regex.error as exc:
        raise ValueError(f"not a regular expression this engine runs: {exc}") from None
    except (OverflowError, RecursionError, MemoryError):
        raise ValueError("not a regular expression this engine runs: too large") from None
    return BoundedPattern(source=pattern, compiled=compiled)
