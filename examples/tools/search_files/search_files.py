"""Read and search text files under the granted folder /data."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated

from agentor_toolkit.guest import Field, ToolFailure, tool

ROOT = "/data"
MAX_FILE_BYTES = 2 * 1024 * 1024


def _inside(path: str) -> str:
    full = os.path.normpath(str(PurePosixPath(ROOT) / path.lstrip("/")))
    if full != ROOT and not full.startswith(ROOT + "/"):
        raise ToolFailure("outside_root", f"{path!r} is outside {ROOT}")
    return full


@dataclass
class Match:
    path: str
    line: int
    text: str


@tool(read_only=True)
def search_files(
    pattern: Annotated[str, Field(min_length=1, max_length=500)],
    glob: str = "*",
    regex: bool = False,
    max_results: Annotated[int, Field(ge=1, le=1000)] = 100,
) -> list[Match]:
    """Find lines containing a text (or matching a regular expression) in files under /data.

    Args:
        pattern: Text to look for (or a regular expression when regex is true).
        glob: Only files whose name matches this shell pattern, e.g. "*.md".
        regex: Treat pattern as a Python regular expression.
        max_results: Stop after this many matching lines.
    """
    try:
        matcher = re.compile(pattern if regex else re.escape(pattern))
    except re.error as exc:
        raise ToolFailure("invalid_pattern", f"not a regular expression: {exc}") from None
    found: list[Match] = []
    for folder, dirs, files in os.walk(ROOT):
        dirs.sort()
        for name in sorted(files):
            if not fnmatch.fnmatch(name, glob):
                continue
            full = Path(folder) / name
            if full.stat().st_size > MAX_FILE_BYTES:
                continue
            with full.open(encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, start=1):
                    if matcher.search(line):
                        found.append(Match(str(full)[len(ROOT) :], number, line.rstrip("\n")[:500]))
                        if len(found) >= max_results:
                            return found
    return found


@tool(read_only=True)
def read_file(
    path: Annotated[str, Field(min_length=1, max_length=1024)],
    max_chars: Annotated[int, Field(ge=1, le=1_000_000)] = 100_000,
) -> str:
    """Read a text file under /data.

    Args:
        path: The file, relative to /data (or absolute under it).
        max_chars: Return at most this many characters.
    """
    full = _inside(path)
    if not Path(full).is_file():
        raise ToolFailure("not_found", f"no file {path!r} under {ROOT}")
    with Path(full).open(encoding="utf-8", errors="replace") as handle:
        return handle.read(max_chars)


@tool(read_only=True)
def list_files(folder: str = "/") -> list[str]:
    """List the files under a folder of /data, recursively, as paths relative to /data."""
    start = _inside(folder)
    out = []
    for here, dirs, files in os.walk(start):
        dirs.sort()
        out += [str(Path(here) / name)[len(ROOT) :] for name in sorted(files)]
    return out
