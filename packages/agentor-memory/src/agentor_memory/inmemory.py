"""A store in a Python dict, with the same checks, bounds and retention: for tests and demos."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from agentor_core.errors import AgentorError
from agentor_core.memory import MemoryRecord
from agentor_memory.codes import MemoryCode
from agentor_memory.limits import MemoryLimits
from agentor_memory.query import check_limit, parse_query
from agentor_memory.records import check_id, check_namespace, check_record, utc_now
from agentor_memory.store import MemoryStats, NamespaceStats


class InMemoryStore:
    """A :class:`~agentor_core.interfaces.MemoryStore` that forgets everything on exit.

    Search matches any query word as a case-insensitive substring, newest first
    among equally good matches. Records are immutable, so they are kept as given.
    """

    def __init__(
        self,
        limits: MemoryLimits | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.limits = limits or MemoryLimits()
        self.search_mode = "memory"
        self._clock = clock
        self._lock = threading.RLock()
        self._records: dict[str, tuple[int, MemoryRecord]] = {}
        self._namespaces: dict[str, dict[str, None]] = {}
        self._evicted: dict[str, int] = {}
        self._seq = 0

    def _live(self, record: MemoryRecord) -> bool:
        if self.limits.max_age_s is None:
            return True
        return record.created_at >= self._clock() - timedelta(seconds=self.limits.max_age_s)

    def _ordered(self, namespace: str | None) -> list[tuple[int, MemoryRecord]]:
        found = [
            (seq, record)
            for seq, record in self._records.values()
            if (namespace is None or record.namespace == namespace) and self._live(record)
        ]
        return sorted(found, key=lambda item: item[0], reverse=True)

    def add(self, record: MemoryRecord) -> None:
        check_record(record, self.limits)
        with self._lock:
            if record.id in self._records:
                raise AgentorError(
                    MemoryCode.RECORD_INVALID,
                    f"a record with the id {record.id!r} is already stored",
                )
            self._seq += 1
            self._records[record.id] = (self._seq, record)
            # Dicts keep insertion order: the namespace's oldest records come first.
            mine = self._namespaces.setdefault(record.namespace, {})
            mine[record.id] = None
            doomed: list[str] = []
            if self.limits.max_age_s is not None:
                doomed = [i for i in mine if not self._live(self._records[i][1])]
            excess = len(mine) - len(doomed) - self.limits.max_records_per_namespace
            if excess > 0:
                gone = set(doomed)
                doomed.extend([i for i in mine if i not in gone][:excess])
            for record_id in doomed:
                del self._records[record_id]
                del mine[record_id]
            self._evicted[record.namespace] = self._evicted.get(record.namespace, 0) + len(doomed)

    def get(self, record_id: str) -> MemoryRecord | None:
        check_id(record_id)
        with self._lock:
            found = self._records.get(record_id)
        return found[1] if found is not None and self._live(found[1]) else None

    def search(self, namespace: str, query: str, *, limit: int = 10) -> Sequence[MemoryRecord]:
        check_namespace(namespace)
        limit = check_limit(limit, self.limits)
        terms = parse_query(query, self.limits).terms
        with self._lock:
            ordered = self._ordered(namespace)
        if not terms:
            return [record for _seq, record in ordered[:limit]]
        scored = []
        for seq, record in ordered:
            text = record.text.lower()
            hits = sum(1 for term in terms if term in text)
            if hits:
                scored.append((-hits, -seq, record))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [record for _hits, _seq, record in scored[:limit]]

    def delete(self, record_id: str) -> bool:
        check_id(record_id)
        with self._lock:
            found = self._records.pop(record_id, None)
            if found is None:
                return False
            self._namespaces[found[1].namespace].pop(record_id, None)
            return True

    def list(self, namespace: str | None = None, *, limit: int = 100) -> Sequence[MemoryRecord]:
        limit = check_limit(limit, self.limits)
        if namespace is not None:
            check_namespace(namespace)
        with self._lock:
            return [record for _seq, record in self._ordered(namespace)[:limit]]

    def purge(self, namespace: str | None = None) -> int:
        if namespace is not None:
            check_namespace(namespace)
        with self._lock:
            doomed = [
                record_id
                for record_id, (_seq, record) in self._records.items()
                if namespace is None or record.namespace == namespace
            ]
            for record_id in doomed:
                _seq, record = self._records.pop(record_id)
                self._namespaces[record.namespace].pop(record_id, None)
        return len(doomed)

    def stats(self) -> MemoryStats:
        with self._lock:
            counts: dict[str, int] = {}
            for _seq, record in self._records.values():
                counts[record.namespace] = counts.get(record.namespace, 0) + 1
            evicted = dict(self._evicted)
        names = sorted(set(counts) | set(evicted))
        return MemoryStats(
            path=None,
            search="memory",
            records=sum(counts.values()),
            evicted=sum(evicted.values()),
            bytes=0,
            namespaces=tuple(
                NamespaceStats(name=n, records=counts.get(n, 0), evicted=evicted.get(n, 0))
                for n in names
            ),
        )

    def close(self) -> None:
        """Nothing to release; present so callers treat every store alike."""
