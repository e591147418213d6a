"""Summarise CSV text: per column, its inferred type, counts and statistics."""

from __future__ import annotations

import csv
import heapq  # noqa: F401 - Counter.most_common imports it lazily; see the note below
import io
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Literal

from agentor_toolkit.guest import Field, ToolFailure, tool

MAX_ROWS = 200_000
# componentize-py bundles the modules imported while the tool module is imported
# at build time; a module the standard library imports lazily later (heapq, for
# Counter.most_common) must be imported here, at the top.


@dataclass
class Column:
    name: str
    kind: Literal["integer", "number", "text", "empty"]
    count: int
    missing: int
    distinct: int
    top: list[str]
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    median: float | None = None


@dataclass
class Summary:
    rows: int
    columns: list[Column]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@tool(read_only=True, idempotent=True)
def csv_summary(
    csv_text: Annotated[str, Field(min_length=1, max_length=8_000_000)],
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ",",
    top: Annotated[int, Field(ge=0, le=50)] = 5,
) -> Summary:
    """Summarise a CSV document with a header row.

    Args:
        csv_text: The CSV text; the first row names the columns.
        delimiter: The field separator, one character.
        top: How many of the most frequent values to list per column.
    """
    try:
        reader = csv.reader(io.StringIO(csv_text), delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise ToolFailure("invalid_csv", "the CSV has no header row")
        values: list[list[str]] = [[] for _ in header]
        rows = 0
        for row in reader:
            rows += 1
            if rows > MAX_ROWS:
                raise ToolFailure("too_large", f"more than {MAX_ROWS} rows")
            for index in range(len(header)):
                values[index].append(row[index].strip() if index < len(row) else "")
    except csv.Error as exc:
        raise ToolFailure("invalid_csv", f"cannot read the CSV: {exc}") from None
    columns = []
    for name, cells in zip(header, values, strict=True):
        present = [c for c in cells if c != ""]
        numbers = [n for n in (_number(c) for c in present) if n is not None]
        counts = Counter(present)
        column = Column(
            name=name,
            kind="empty",
            count=len(present),
            missing=len(cells) - len(present),
            distinct=len(counts),
            top=[value for value, _ in counts.most_common(top)],
        )
        if present and len(numbers) == len(present):
            column.kind = "integer" if all(n.is_integer() for n in numbers) else "number"
            column.min, column.max = min(numbers), max(numbers)
            column.mean = statistics.fmean(numbers)
            column.median = statistics.median(numbers)
        elif present:
            column.kind = "text"
        columns.append(column)
    return Summary(rows=rows, columns=columns)
