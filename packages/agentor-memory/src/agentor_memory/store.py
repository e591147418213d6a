"""The embedded store: one SQLite file (WAL), full-text search, bounds and retention.

Every write is one ``BEGIN IMMEDIATE`` transaction (insert, index, evictions,
eviction counter), so a record is either stored whole with its labels or not
at all, and two processes sharing the file write one after the other. The file
is created 0600 and a file others can read or write is refused or tightened.

Search uses FTS5 when this Python's SQLite has it (detected when the store is
opened) and a bounded ``LIKE`` scan of one namespace otherwise; a store created
with FTS5 is refused by a SQLite without it rather than silently searched wrong.
``PRAGMA trusted_schema=OFF``: a planted file cannot run its own triggers or
views with side effects on us.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from agentor_core.errors import AgentorError
from agentor_core.labels import LabelSet
from agentor_core.memory import MemoryRecord
from agentor_memory.codes import MemoryCode
from agentor_memory.limits import MemoryLimits
from agentor_memory.query import check_limit, parse_query
from agentor_memory.records import check_id, check_namespace, check_record, utc_now

FORMAT: Final = "agentor-memory/1"
SearchMode = Literal["fts5", "like", "memory"]

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    (
        "CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " id TEXT NOT NULL UNIQUE, namespace TEXT NOT NULL, text TEXT NOT NULL,"
        " labels TEXT NOT NULL, created_at TEXT NOT NULL, created_us INTEGER NOT NULL,"
        " metadata TEXT NOT NULL)"
    ),
    "CREATE INDEX IF NOT EXISTS records_ns ON records (namespace, seq)",
    "CREATE INDEX IF NOT EXISTS records_age ON records (namespace, created_us)",
    (
        "CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY,"
        " evicted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID"
    ),
)
# A plain FTS5 table (it keeps its own copy of the text): no triggers are needed,
# which trusted_schema=OFF would refuse, and rows are deleted by rowid alone.
_FTS_SCHEMA: Final = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(text,"
    " tokenize = 'unicode61 remove_diacritics 2')"
)
_OUR_TABLES: Final = frozenset({"meta", "records", "namespaces", "sqlite_sequence"})


class NamespaceStats(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    records: int
    evicted: int


class MemoryStats(BaseModel):
    """What a store holds: counts per namespace and evictions since it was created."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    path: str | None
    search: SearchMode
    records: int
    evicted: int
    bytes: int
    namespaces: tuple[NamespaceStats, ...]


def fts5_available() -> bool:
    """Whether this Python's SQLite was built with FTS5."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE temp.probe USING fts5(x)")
    except sqlite3.Error:
        return False
    finally:
        probe.close()
    return True


def map_sqlite_error(exc: sqlite3.Error, path: Path) -> AgentorError:
    """A stable code for a failed SQLite operation; nothing half-written survives it."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)[:300]
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return AgentorError(
            MemoryCode.STORE_READ_ONLY,
            f"the memory store {path} is read-only; nothing was written",
            hint="make the file and its folder writable by this user",
        )
    if name.startswith("SQLITE_FULL") or "is full" in text:
        return AgentorError(
            MemoryCode.STORE_FULL,
            f"the memory store {path} reached its size cap; nothing was written",
            hint="remove old records ('agentor memory purge'), or raise max_db_bytes",
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return AgentorError(
            MemoryCode.STORE_BUSY,
            f"another process held the memory store {path} locked too long",
            hint="retry; if it persists, find the process holding the file",
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or (
        "malformed" in text or "not a database" in text
    ):
        return AgentorError(
            MemoryCode.STORE_CORRUPT,
            f"the memory store {path} is damaged or not a database: {text}",
            hint="move the file aside (keep it for investigation); a new store is made on next use",
        )
    return AgentorError(
        MemoryCode.STORE_UNAVAILABLE,
        f"the memory store {path} failed: {text}",
        hint="check the disk and the file's permissions",
    )


def _prepare_file(path: Path) -> None:
    """Create the file 0600, or check an existing one is ours and not readable by others."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        info = path.lstat()
    except FileNotFoundError:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        os.close(fd)
        return
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise AgentorError(
            MemoryCode.STORE_UNAVAILABLE,
            f"{path} is not a regular file (a symbolic link, folder or device)",
            hint="point the memory store at a regular file of its own",
        )
    if os.name == "posix":
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise AgentorError(
                MemoryCode.STORE_UNAVAILABLE,
                f"{path} is owned by another user",
                hint="use a memory store in your own state folder",
            )
        if info.st_mode & 0o077:
            # Ours but too open (copied, restored from a backup): memories are private.
            path.chmod(0o600)


class SqliteMemoryStore:
    """A :class:`~agentor_core.interfaces.MemoryStore` over one SQLite file.

    Records keep the labels they were written with; every method either does
    all it says or raises an ``AgentorError`` with a ``memory.*`` code.
    """

    def __init__(
        self,
        path: Path | str,
        limits: MemoryLimits | None = None,
        *,
        fts: bool | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.path = Path(path)
        self.limits = limits or MemoryLimits()
        self._clock = clock
        self._lock = threading.RLock()
        self._closed = False
        want_fts = fts5_available() if fts is None else fts
        if want_fts and not fts5_available():
            raise AgentorError(
                MemoryCode.STORE_UNAVAILABLE,
                "full-text search was asked for but this Python's SQLite has no FTS5",
                hint="open the store without fts=True to use the LIKE search",
            )
        try:
            _prepare_file(self.path)
        except OSError as exc:
            raise AgentorError(
                MemoryCode.STORE_UNAVAILABLE,
                f"the memory store {self.path} cannot be created: {exc.strerror or exc}",
                hint="check that its folder exists and is writable by this user",
            ) from None
        try:
            self._db = sqlite3.connect(
                self.path,
                timeout=self.limits.busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise map_sqlite_error(exc, self.path) from None
        try:
            self._db.execute("PRAGMA trusted_schema=OFF")
            self._db.execute("PRAGMA cell_size_check=ON")
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise AgentorError(
                    MemoryCode.STORE_UNAVAILABLE,
                    f"the memory store {self.path} cannot use write-ahead logging ({mode})",
                    hint="put the store on a local file system",
                )
            self._db.execute("PRAGMA synchronous=FULL")
            page = int(self._db.execute("PRAGMA page_size").fetchone()[0])
            self._db.execute(f"PRAGMA max_page_count={max(1, self.limits.max_db_bytes // page)}")
            self.search_mode: SearchMode = self._init_schema(want_fts)
        except sqlite3.Error as exc:
            self._db.close()
            raise map_sqlite_error(exc, self.path) from None
        except BaseException:
            self._db.close()
            raise

    # -- setup -------------------------------------------------------------------------

    def _init_schema(self, want_fts: bool) -> SearchMode:
        with self._transaction():
            tables = {
                row[0]
                for row in self._db.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                )
            }
            if "meta" not in tables and tables - _OUR_TABLES:
                raise AgentorError(
                    MemoryCode.STORE_CORRUPT,
                    f"{self.path} is a database of something else, not a memory store",
                    hint="point the memory store at a file of its own",
                )
            for statement in _SCHEMA:
                self._db.execute(statement)
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                mode: SearchMode = "fts5" if want_fts else "like"
                if want_fts:
                    self._db.execute(_FTS_SCHEMA)
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("format", FORMAT), ("search", mode)],
                )
                return mode
            if meta.get("format") != FORMAT or meta.get("search") not in ("fts5", "like"):
                raise AgentorError(
                    MemoryCode.STORE_CORRUPT,
                    f"{self.path} is not an {FORMAT} store (format {meta.get('format')!r})",
                    hint="point the memory store at a file of its own",
                )
            if meta["search"] == "fts5":
                if not fts5_available():
                    raise AgentorError(
                        MemoryCode.STORE_UNAVAILABLE,
                        f"{self.path} was made with full-text search, and this Python's "
                        "SQLite has no FTS5",
                        hint="open it with a Python whose sqlite3 has FTS5",
                    )
                if "records_fts" not in tables:
                    raise AgentorError(
                        MemoryCode.STORE_CORRUPT,
                        f"{self.path} lost its full-text index",
                        hint="move the file aside; a new store is made on next use",
                    )
                return "fts5"
            return "like"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextlib.contextmanager
    def _using(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise AgentorError(
                    MemoryCode.STORE_CLOSED,
                    f"the memory store {self.path} is closed",
                    hint="open the store again",
                )
            try:
                yield
            except sqlite3.Error as exc:
                raise map_sqlite_error(exc, self.path) from None

    def _cutoff_us(self) -> int:
        if self.limits.max_age_s is None:
            return -(2**62)
        return _micros(self._clock() - timedelta(seconds=self.limits.max_age_s))

    # -- the MemoryStore interface ----------------------------------------------------

    def add(self, record: MemoryRecord) -> None:
        """Store ``record`` whole, then evict what retention says (oldest first), atomically."""
        text, metadata = check_record(record, self.limits)
        labels = record.labels.model_dump_json()
        with self._using(), self._transaction():
            try:
                cursor = self._db.execute(
                    "INSERT INTO records (id, namespace, text, labels, created_at, created_us,"
                    " metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.id,
                        record.namespace,
                        text.decode("utf-8"),
                        labels,
                        record.created_at.isoformat(),
                        _micros(record.created_at),
                        metadata,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AgentorError(
                    MemoryCode.RECORD_INVALID,
                    f"a record with the id {record.id!r} is already stored",
                    hint="make records with agentor_memory.new_record (fresh random ids)",
                ) from None
            if self.search_mode == "fts5":
                self._db.execute(
                    "INSERT INTO records_fts (rowid, text) VALUES (?, ?)",
                    (cursor.lastrowid, text.decode("utf-8")),
                )
            self._evict(record.namespace)

    def _evict(self, namespace: str) -> None:
        doomed = [
            row[0]
            for row in self._db.execute(
                "SELECT seq FROM records WHERE namespace = ? AND created_us < ?",
                (namespace, self._cutoff_us()),
            )
        ]
        (count,) = self._db.execute(
            "SELECT count(*) FROM records WHERE namespace = ?", (namespace,)
        ).fetchone()
        excess = count - len(doomed) - self.limits.max_records_per_namespace
        if excess > 0:
            doomed.extend(
                row[0]
                for row in self._db.execute(
                    "SELECT seq FROM records WHERE namespace = ? AND created_us >= ?"
                    " ORDER BY seq LIMIT ?",
                    (namespace, self._cutoff_us(), excess),
                )
            )
        self._db.execute(
            "INSERT INTO namespaces (name, evicted) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET evicted = evicted + excluded.evicted",
            (namespace, len(doomed)),
        )
        if doomed:
            self._delete_seqs(doomed)

    def _delete_seqs(self, seqs: Sequence[int]) -> None:
        for start in range(0, len(seqs), 500):
            chunk = [(seq,) for seq in seqs[start : start + 500]]
            self._db.executemany("DELETE FROM records WHERE seq = ?", chunk)
            if self.search_mode == "fts5":
                self._db.executemany("DELETE FROM records_fts WHERE rowid = ?", chunk)

    def get(self, record_id: str) -> MemoryRecord | None:
        check_id(record_id)
        with self._using():
            row = self._db.execute(
                "SELECT r.id, r.namespace, r.text, r.labels, r.created_at, r.metadata"
                " FROM records r WHERE r.id = ? AND r.created_us >= ?",
                (record_id, self._cutoff_us()),
            ).fetchone()
        return None if row is None else self._record(row)

    def search(self, namespace: str, query: str, *, limit: int = 10) -> Sequence[MemoryRecord]:
        """Records of ``namespace`` matching any word of ``query``, best first.

        The query is plain text, never search syntax. No words: the newest records.
        """
        check_namespace(namespace)
        limit = check_limit(limit, self.limits)
        parsed = parse_query(query, self.limits)
        if not parsed.terms:
            return self.list(namespace, limit=limit)
        with self._using():
            if self.search_mode == "fts5":
                rows = self._db.execute(
                    "SELECT r.id, r.namespace, r.text, r.labels, r.created_at, r.metadata"
                    " FROM records_fts f JOIN records r ON r.seq = f.rowid"
                    " WHERE records_fts MATCH ? AND r.namespace = ? AND r.created_us >= ?"
                    " ORDER BY f.rank, r.seq DESC LIMIT ?",
                    (parsed.fts(), namespace, self._cutoff_us(), limit),
                ).fetchall()
            else:
                # One constant statement: the patterns arrive as one JSON array parameter.
                patterns = json.dumps(list(parsed.like_patterns()), ensure_ascii=False)
                rows = self._db.execute(
                    "SELECT r.id, r.namespace, r.text, r.labels, r.created_at, r.metadata"
                    " FROM records r WHERE r.namespace = ? AND r.created_us >= ?"
                    " AND EXISTS (SELECT 1 FROM json_each(?) p"
                    " WHERE r.text LIKE p.value ESCAPE '\\')"
                    " ORDER BY r.seq DESC LIMIT ?",
                    (namespace, self._cutoff_us(), patterns, limit),
                ).fetchall()
        return [self._record(row) for row in rows]

    def delete(self, record_id: str) -> bool:
        check_id(record_id)
        with self._using(), self._transaction():
            row = self._db.execute("SELECT seq FROM records WHERE id = ?", (record_id,)).fetchone()
            if row is None:
                return False
            self._delete_seqs([row[0]])
        return True

    # -- beyond the interface ---------------------------------------------------------

    def list(self, namespace: str | None = None, *, limit: int = 100) -> Sequence[MemoryRecord]:
        """The newest records, of one namespace or of all."""
        limit = check_limit(limit, self.limits)
        with self._using():
            if namespace is None:
                rows = self._db.execute(
                    "SELECT r.id, r.namespace, r.text, r.labels, r.created_at, r.metadata"
                    " FROM records r WHERE r.created_us >= ?"
                    " ORDER BY r.seq DESC LIMIT ?",
                    (self._cutoff_us(), limit),
                ).fetchall()
            else:
                check_namespace(namespace)
                rows = self._db.execute(
                    "SELECT r.id, r.namespace, r.text, r.labels, r.created_at, r.metadata"
                    " FROM records r WHERE r.namespace = ?"
                    " AND r.created_us >= ? ORDER BY r.seq DESC LIMIT ?",
                    (namespace, self._cutoff_us(), limit),
                ).fetchall()
        return [self._record(row) for row in rows]

    def purge(self, namespace: str | None = None) -> int:
        """Delete every record of ``namespace`` (``None``: of every namespace); how many."""
        if namespace is not None:
            check_namespace(namespace)
        with self._using(), self._transaction():
            if namespace is None:
                seqs = [row[0] for row in self._db.execute("SELECT seq FROM records")]
            else:
                seqs = [
                    row[0]
                    for row in self._db.execute(
                        "SELECT seq FROM records WHERE namespace = ?", (namespace,)
                    )
                ]
            self._delete_seqs(seqs)
        return len(seqs)

    def purge_expired(self) -> int:
        """Delete every record older than ``max_age_s`` now (counted as evicted)."""
        with self._using(), self._transaction():
            rows = self._db.execute(
                "SELECT namespace, seq FROM records WHERE created_us < ?", (self._cutoff_us(),)
            ).fetchall()
            per: dict[str, int] = {}
            for namespace, _seq in rows:
                per[namespace] = per.get(namespace, 0) + 1
            self._db.executemany(
                "INSERT INTO namespaces (name, evicted) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET evicted = evicted + excluded.evicted",
                list(per.items()),
            )
            self._delete_seqs([seq for _ns, seq in rows])
        return len(rows)

    def stats(self) -> MemoryStats:
        with self._using():
            counts = dict(
                self._db.execute(
                    "SELECT namespace, count(*) FROM records GROUP BY namespace"
                ).fetchall()
            )
            evicted = dict(self._db.execute("SELECT name, evicted FROM namespaces").fetchall())
            pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
            page = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        names = sorted(set(counts) | set(evicted))
        return MemoryStats(
            path=str(self.path),
            search=self.search_mode,
            records=sum(counts.values()),
            evicted=sum(evicted.values()),
            bytes=pages * page,
            namespaces=tuple(
                NamespaceStats(
                    name=str(name),
                    records=int(counts.get(name, 0)),
                    evicted=int(evicted.get(name, 0)),
                )
                for name in names
            ),
        )

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(sqlite3.Error):
                self._db.close()

    def __enter__(self) -> SqliteMemoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- rows --------------------------------------------------------------------------

    def _record(self, row: tuple[Any, ...]) -> MemoryRecord:
        # The file is ours (0600), but a damaged or edited row must never come back
        # with labels it was not written with: anything malformed is an error, not a default.
        record_id, namespace, text, labels, created_at, metadata = row
        try:
            return MemoryRecord(
                id=record_id,
                namespace=namespace,
                text=text,
                labels=LabelSet.model_validate_json(labels),
                created_at=datetime.fromisoformat(created_at),
                metadata=json.loads(metadata),
            )
        except (ValidationError, ValueError, TypeError):
            shown = str(record_id)[:64]
            raise AgentorError(
                MemoryCode.STORE_CORRUPT,
                f"the record {shown!r} in {self.path} is malformed (its labels, time or metadata)",
                hint="delete it ('agentor memory rm ID'); keep a copy of the file to investigate",
            ) from None


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)
