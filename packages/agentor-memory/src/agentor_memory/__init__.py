"""agentor-memory: remembered text that keeps the provenance labels it was written with.

Recalling untrusted text keeps it untrusted. Depends on agentor-core (and the
standard library's sqlite3) only.
"""

from __future__ import annotations

from agentor_memory.__about__ import __version__
from agentor_memory.codes import MemoryCode
from agentor_memory.factory import create_memory_store, default_path
from agentor_memory.inmemory import InMemoryStore
from agentor_memory.limits import MemoryLimits, limits_from
from agentor_memory.query import Query, parse_query
from agentor_memory.records import check_namespace, new_record
from agentor_memory.store import (
    MemoryStats,
    NamespaceStats,
    SqliteMemoryStore,
    fts5_available,
)

__all__ = [
    "InMemoryStore",
    "MemoryCode",
    "MemoryLimits",
    "MemoryStats",
    "NamespaceStats",
    "Query",
    "SqliteMemoryStore",
    "__version__",
    "check_namespace",
    "create_memory_store",
    "default_path",
    "fts5_available",
    "limits_from",
    "new_record",
    "parse_query",
]
