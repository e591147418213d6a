"""Reading a policy file: bounded before parsing, errors that name file, key and line.

Order of refusal: size (read at most ``MAX_POLICY_BYTES + 1`` bytes), UTF-8,
bracket nesting (a linear scan, so ``tomllib``'s recursive descent never sees a
deep document), TOML syntax, then the schema (:mod:`agentor_policy.model`).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from agentor_core.errors import AgentorError
from agentor_policy.codes import PolicyCode
from agentor_policy.model import PolicyFile

MAX_POLICY_BYTES: Final = 4 * 1024 * 1024
MAX_NESTING: Final = 16
MAX_KEY_PARTS: Final = 32
_MAX_REPORTED: Final = 5

_KEY_PART: Final = r'(?:[A-Za-z0-9_\-]+|"[^"\\\n]*"|\'[^\'\n]*\')'
_HEADER_RE: Final = re.compile(
    r"^\s*(\[\[?)\s*(" + _KEY_PART + r"(?:\s*\.\s*" + _KEY_PART + r")*)\s*\]\]?\s*(?:#.*)?$"
)
_KEY_RE: Final = re.compile(r"^\s*(" + _KEY_PART + r"(?:\s*\.\s*" + _KEY_PART + r")*)\s*=")
_PART_RE: Final = re.compile(_KEY_PART)
_BORING: Final = re.compile(r"[A-Za-z0-9_\- \t\r]+")


def read_policy_text(path: Path) -> str:
    """The file's text, refusing anything unreadable, too large or not UTF-8."""
    try:
        # Non-blocking open, then a regular-file check: a FIFO or a device named
        # as the policy must not hang or flood the loader.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise AgentorError(
                    PolicyCode.FILE_UNREADABLE,
                    f"{path}: not a regular file",
                    hint="point to the policy file itself",
                )
            raw = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise AgentorError(
            PolicyCode.FILE_UNREADABLE,
            f"{path}: cannot read the policy file ({exc.strerror or type(exc).__name__})",
            hint="check the path and its permissions",
        ) from None
    if len(raw) > MAX_POLICY_BYTES:
        raise AgentorError(
            PolicyCode.FILE_TOO_LARGE,
            f"{path}: policy file is larger than {MAX_POLICY_BYTES} bytes",
            hint="split it or remove generated noise; a policy is meant to be read by people",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AgentorError(
            PolicyCode.SYNTAX,
            f"{path}: not UTF-8 text (byte {exc.start})",
            hint="save the policy as UTF-8",
        ) from None


def _too_deep(source: str, line: int, what: str) -> AgentorError:
    return AgentorError(
        PolicyCode.TOO_DEEP,
        f"{source}: line {line}: {what}",
        hint="flatten the value; no policy key needs that much nesting",
    )


def _string_end(text: str, start: int) -> int:
    """The index just past the TOML string that starts at ``start``."""
    ch = text[start]
    quote = ch * 3 if text.startswith(ch * 3, start) else ch
    j = start + len(quote)
    while j < len(text):
        if ch == '"' and text[j] == "\\":
            j += 2
            continue
        if text.startswith(quote, j) or (len(quote) == 1 and text[j] == "\n"):
            break
        j += 1
    return j + len(quote)


def _header_end(text: str, start: int, source: str, line: int) -> int:
    """Skip a table header: it opens no nesting, but its dotted name counts."""
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    if text.count(".", start, end) > MAX_KEY_PARTS:
        raise _too_deep(source, line, f"a table name has more than {MAX_KEY_PARTS} parts")
    return end


def check_nesting(text: str, source: str) -> None:
    """Refuse deep arrays, inline tables and dotted keys before ``tomllib`` sees them.

    ``tomllib`` recurses into nested values and spends time quadratic in the
    number of parts of a dotted key (a 40 kB key takes it a minute), so both are
    bounded here by a linear scan that skips strings and comments; it only has
    to be right about depth, ``tomllib`` judges the syntax afterwards.
    """
    depth = 0
    line = 1
    i = 0
    n = len(text)
    at_line_start = True
    chain = 0  # dots in the current run of key characters: parts of a dotted key
    while i < n:
        # Jump over runs of bare-key characters and spaces: they change nothing here.
        found = _BORING.match(text, i)
        if found is not None:
            i = found.end()
            at_line_start = at_line_start and not found.group().strip(" \t\r")
            if i >= n:
                break
        ch = text[i]
        if ch == "\n":
            line += 1
            at_line_start = True
            chain = 0
            i += 1
            continue
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in "\"'":
            end = _string_end(text, i)
            line += text.count("\n", i, end)
            i = end
            at_line_start = False
            continue
        if at_line_start and depth == 0 and ch == "[":
            i = _header_end(text, i, source, line)
            continue
        at_line_start = False
        if ch == ".":
            chain += 1
            if chain > MAX_KEY_PARTS:
                raise _too_deep(source, line, f"a dotted key has more than {MAX_KEY_PARTS} parts")
        elif not (ch.isalnum() or ch in "_-"):
            chain = 0
        if ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise _too_deep(
                    source,
                    line,
                    f"arrays or inline tables nested deeper than {MAX_NESTING} levels",
                )
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1


def _parts(dotted: str) -> list[str]:
    return [p.strip("\"'") for p in _PART_RE.findall(dotted)]


def locate(text: str, loc: tuple[int | str, ...]) -> int | None:
    """The line that defines the key at ``loc`` (or its nearest parent), best effort."""
    counters: dict[tuple[int | str, ...], int] = {}
    table: tuple[int | str, ...] = ()
    best_line: int | None = None
    best_len = 0
    target = tuple(loc)
    for number, line in enumerate(text.splitlines(), start=1):
        path: tuple[int | str, ...] | None = None
        header = _HEADER_RE.match(line)
        if header:
            parts = _parts(header.group(2))
            resolved: tuple[int | str, ...] = ()
            for part in parts[:-1]:
                resolved += (part,)
                # A parent that is an array of tables refers to its latest element.
                if resolved in counters:
                    resolved += (counters[resolved],)
            resolved += (parts[-1],)
            if header.group(1) == "[[":
                counters[resolved] = counters.get(resolved, -1) + 1
                resolved += (counters[resolved],)
            table = resolved
            path = table
        else:
            key = _KEY_RE.match(line)
            if key:
                path = table + tuple(_parts(key.group(1)))
        if path is None:
            continue
        common = 0
        for a, b in zip(path, target, strict=False):
            if a != b:
                break
            common += 1
        if common == len(path) and common > best_len:
            best_line, best_len = number, common
    return best_line


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def describe(exc: ValidationError, text: str, source: str) -> str:
    lines = []
    for err in exc.errors(include_url=False, include_input=False)[:_MAX_REPORTED]:
        loc = tuple(err["loc"])
        line = locate(text, loc)
        where = f"line {line}, " if line is not None else ""
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling and where it sits)"
        lines.append(f"{where}key {_key_path(loc)}: {msg}")
    more = exc.error_count() - _MAX_REPORTED
    if more > 0:
        lines.append(f"... and {more} more")
    return f"{source}: invalid policy: " + "; ".join(lines)


def parse_policy_text(text: str, source: str = "<policy>") -> PolicyFile:
    """Parse policy TOML text (already bounded in size) into a :class:`PolicyFile`."""
    if len(text) > MAX_POLICY_BYTES:
        raise AgentorError(
            PolicyCode.FILE_TOO_LARGE,
            f"{source}: policy text is longer than {MAX_POLICY_BYTES} characters",
            hint="split it; a policy is meant to be read by people",
        )
    check_nesting(text, source)
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgentorError(
            PolicyCode.SYNTAX,
            f"{source}: not valid TOML: {exc}",
            hint="fix the syntax at the line and column named",
        ) from None
    except RecursionError:  # pragma: no cover - check_nesting refuses deep documents first
        raise AgentorError(
            PolicyCode.TOO_DEEP, f"{source}: nested too deeply", hint="flatten the value"
        ) from None
    try:
        return PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise AgentorError(
            PolicyCode.INVALID,
            describe(exc, text, source),
            hint="correct the named keys; see examples/policies/ for every rule kind",
        ) from None


def load_policy_file(path: Path) -> tuple[PolicyFile, str]:
    """The parsed policy at ``path`` and its text."""
    text = read_policy_text(path)
    return parse_policy_text(text, str(path)), text
