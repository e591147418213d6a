"""Turning user or model text into a search that cannot be read as FTS5 syntax.

FTS5's query language has operators (AND, OR, NOT, NEAR), column filters
(``text:``), prefixes (``*``), groups and ``^``. A query built by string
concatenation would let whoever wrote the text run them — or make the query
fail to parse. Here text is only ever split into word terms, and each term is
sent as an FTS5 string (double-quoted, inner quotes doubled), which FTS5 reads
as a phrase of plain tokens, never as an operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from agentor_core.errors import AgentorError
from agentor_memory.codes import MemoryCode
from agentor_memory.limits import MemoryLimits

_TERM: Final = re.compile(r"\w+")
MAX_TERM_CHARS: Final = 256


@dataclass(frozen=True, slots=True)
class Query:
    """The distinct word terms of a query, in order; empty means "the newest records"."""

    terms: tuple[str, ...]

    def fts(self) -> str:
        """An FTS5 MATCH expression: any of the terms, each a quoted string."""
        return " OR ".join('"' + term.replace('"', '""') + '"' for term in self.terms)

    def like_patterns(self) -> tuple[str, ...]:
        """``LIKE ... ESCAPE '\\'`` patterns, with the wildcards ``%`` and ``_`` escaped."""
        return tuple(
            "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            for term in self.terms
        )


def parse_query(text: object, limits: MemoryLimits) -> Query:
    if not isinstance(text, str):
        raise AgentorError(MemoryCode.QUERY_INVALID, "a query must be text")
    if len(text) > limits.max_query_chars:
        raise AgentorError(
            MemoryCode.QUERY_INVALID,
            f"the query has {len(text)} characters; at most {limits.max_query_chars} are accepted",
            hint="search for a few distinctive words",
        )
    seen: dict[str, None] = {}
    for match in _TERM.finditer(text):
        term = match.group(0)[:MAX_TERM_CHARS].casefold()
        seen.setdefault(term, None)
    if len(seen) > limits.max_query_terms:
        raise AgentorError(
            MemoryCode.QUERY_INVALID,
            f"the query has {len(seen)} distinct words; at most {limits.max_query_terms} are used",
            hint="search for a few distinctive words",
        )
    return Query(tuple(seen))


def check_limit(limit: object, limits: MemoryLimits) -> int:
    if (
        isinstance(limit, bool)
        or not isinstance(limit, int)
        or not 1 <= limit <= limits.max_results
    ):
        raise AgentorError(
            MemoryCode.QUERY_INVALID,
            f"limit must be a whole number from 1 to {limits.max_results}",
        )
    return limit
