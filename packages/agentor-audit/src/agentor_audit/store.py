"""The embedded store: SQLite in WAL mode, group commits, one gap-free sequence across processes.

Every commit is one ``BEGIN IMMEDIATE`` transaction, which takes SQLite's write
lock before reading the tree size, so threads and processes sharing a file
append in a single order without gaps. Threads of one process share one
connection and group-commit: whoever finds no commit in progress writes every
queued event in one transaction while the others wait for it. With
``durability="full"`` (default) SQLite runs ``synchronous=FULL``, so a returned
receipt survives power loss; ``"normal"`` survives a killed process only.

Rows: ``events(seq, leaf, data)`` holds each record's canonical bytes and leaf
hash; ``subtrees`` the hashes of aligned perfect subtrees of 256 leaves and up
(proofs read at most 2 x 255 leaves); ``meta`` the tree size and frontier;
``checkpoints`` the signed notes; ``writers`` each writer's committed count,
used to tell on reopen how many non-waiting submissions a dead writer lost.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from opentelemetry import trace

from agentor_audit import telemetry
from agentor_audit.codes import AuditCode
from agentor_audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
    subtree_hash,
)
from agentor_audit.note import Checkpoint, NoteSigner
from agentor_audit.records import event_bytes, record_bytes
from agentor_audit.redaction import Redactor, argument_digest
from agentor_audit.witness import write_witness
from agentor_core.audit import AuditEvent, AuditEventType, AuditReceipt
from agentor_core.errors import AgentorError

try:  # POSIX: advisory locks tell a live writer from a dead one.
    import fcntl

    HAS_FLOCK = True
except ImportError:  # pragma: no cover - Windows: no in-flight accounting
    HAS_FLOCK = False

FORMAT: Final = "agentor-audit/1"
TILE_LEVEL: Final = 8
"""Subtrees of 2**8 leaves and larger are stored; smaller ones are rebuilt from leaves."""
MAX_BATCH: Final = 10_000
DEFAULT_CHECKPOINT_EVERY: Final = 1000
DEFAULT_CHECKPOINT_SECONDS: Final = 10.0
DEFAULT_FLUSH_SECONDS: Final = 0.05

Durability = Literal["full", "normal"]

SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
    (
        "CREATE TABLE IF NOT EXISTS events"
        " (seq INTEGER PRIMARY KEY, leaf BLOB NOT NULL, data BLOB NOT NULL)"
    ),
    "CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL)",
    (
        "CREATE TABLE IF NOT EXISTS subtrees (level INTEGER NOT NULL, idx INTEGER NOT NULL,"
        " hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID"
    ),
    (
        "CREATE TABLE IF NOT EXISTS writers (id TEXT PRIMARY KEY, pid INTEGER NOT NULL,"
        " committed INTEGER NOT NULL DEFAULT 0, closed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID"
    ),
)


@dataclass(frozen=True, slots=True)
class Recovery:
    """What reopening found: writers that died with submissions not committed."""

    dead_writers: int = 0
    lost_in_flight: int = 0
    """Events submitted without waiting (``submit``) that never reached the store."""
    tree_size: int = 0


def map_sqlite_error(exc: sqlite3.Error, path: Path) -> AgentorError:
    """A stable code for a failed write: the caller refuses the audited action."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return AgentorError(
            AuditCode.STORE_READ_ONLY,
            f"the audit store {path} is read-only; audited actions are refused",
            hint="make the file and its folder writable by this user, or move the audit log",
        )
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return AgentorError(
            AuditCode.DISK_FULL,
            f"the audit store {path} is full; audited actions are refused",
            hint="free disk space (or raise max_pages), then retry; nothing committed was lost",
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return AgentorError(
            AuditCode.STORE_CORRUPT,
            f"the audit store {path} is damaged or not a database: {text}",
            hint="keep the file for investigation and run 'agentor audit verify' on it",
        )
    return AgentorError(
        AuditCode.STORE_UNWRITABLE,
        f"the audit store {path} could not commit: {text}",
        hint="check the disk and that no other process holds the store locked, then retry",
    )


@dataclass(slots=True)
class _Ticket:
    events: list[tuple[AuditEvent, bytes]]
    writer: str
    receipts: list[AuditReceipt] = field(default_factory=list)
    error: AgentorError | None = None
    done: bool = False


class AuditLog:
    """An :class:`~agentor_core.interfaces.AuditSink` over a SQLite file.

    ``append`` returns only after the event is committed, or raises an
    ``audit.*`` error and the caller must refuse the audited action.
    """

    def __init__(
        self,
        path: Path,
        signer: NoteSigner,
        *,
        origin: str | None = None,
        durability: Durability = "full",
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
        witness_dir: Path | None = None,
        redactor: Redactor | None = None,
        busy_timeout: float = 30.0,
        max_pages: int | None = None,
        flush_seconds: float = DEFAULT_FLUSH_SECONDS,
    ) -> None:
        if durability not in ("full", "normal"):
            raise ValueError(f"durability must be 'full' or 'normal', not {durability!r}")
        self.path = Path(path)
        self.signer = signer
        self.durability: Durability = durability
        self.checkpoint_every = max(1, checkpoint_every)
        self.checkpoint_seconds = checkpoint_seconds
        self.witness_dir = witness_dir
        self.redactor = redactor or Redactor()
        self.flush_seconds = flush_seconds
        self._cond = threading.Condition()
        self._queue: list[_Ticket] = []
        self._committing = False
        self._closed = False
        self._frontier: Frontier | None = None
        self._last_checkpoint_size = -1
        self._last_checkpoint_time = time.monotonic()
        self._pending: list[tuple[AuditEvent, bytes]] = []
        self._submitted = 0
        self._flusher: threading.Thread | None = None
        self._wake = threading.Event()
        self.writer_id = uuid.uuid4().hex
        self._writer_fd: int | None = None
        try:
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
            if max_pages is not None:
                self._db.execute(f"PRAGMA max_page_count={int(max_pages)}")
            self._init_schema(origin)
            self.recovery = self._recover()
            self._register_writer()
        except sqlite3.Error as exc:
            raise map_sqlite_error(exc, self.path) from None
        if self.recovery.lost_in_flight or self.recovery.dead_writers:
            telemetry.log.warning(
                "audit.recovered",
                path=str(self.path),
                dead_writers=self.recovery.dead_writers,
                lost_in_flight=self.recovery.lost_in_flight,
            )
        if self.recovery.lost_in_flight:
            # The loss itself goes into the log, where it is signed like everything else.
            self.append(
                AuditEvent(
                    type=AuditEventType.AUDIT_RECOVERED,
                    time=datetime.now(UTC),
                    outcome="audit.lost_in_flight",
                    detail={
                        "dead_writers": self.recovery.dead_writers,
                        "lost_in_flight": self.recovery.lost_in_flight,
                        "tree_size": self.recovery.tree_size,
                    },
                )
            )

    # -- setup -------------------------------------------------------------

    def _init_schema(self, origin: str | None) -> None:
        with self._transaction():
            for statement in SCHEMA:
                self._db.execute(statement)
            found = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if not found:
                chosen = origin or f"agentor.local/audit/{uuid.uuid4().hex[:16]}"
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("format", FORMAT), ("origin", chosen), ("size", 0), ("frontier", b"")],
                )
                self.origin = chosen
            elif found.get("format") != FORMAT:
                raise AgentorError(
                    AuditCode.STORE_CORRUPT,
                    f"{self.path} is not an {FORMAT} store (format {found.get('format')!r})",
                    hint="point the audit log at its own file",
                )
            else:
                self.origin = str(found["origin"])
            row = self._db.execute("SELECT max(size) FROM checkpoints").fetchone()
            self._last_checkpoint_size = row[0] if row[0] is not None else -1

    def _writers_dir(self) -> Path:
        return self.path.with_name(self.path.name + ".writers")

    def _register_writer(self) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO writers (id, pid, committed) VALUES (?, ?, 0)",
                (self.writer_id, os.getpid()),
            )
        if not HAS_FLOCK:  # pragma: no cover - Windows
            return
        folder = self._writers_dir()
        folder.mkdir(mode=0o700, exist_ok=True)
        # Locked before it appears under its final name, so a concurrent recovery
        # never mistakes a writer that is starting for one that died.
        hidden = folder / f".{self.writer_id}"
        fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.pwrite(fd, struct.pack(">Q", 0), 0)
        hidden.rename(folder / self.writer_id)
        self._writer_fd = fd

    def _recover(self) -> Recovery:
        """Account for writers that died: submissions counted on disk but never committed."""
        dead = lost = 0
        folder = self._writers_dir()
        if HAS_FLOCK and folder.is_dir():
            for entry in sorted(folder.iterdir()):
                if entry.name.startswith("."):
                    continue  # a writer still starting (or one that died before its first event)
                try:
                    fd = os.open(entry, os.O_RDWR)
                except FileNotFoundError:
                    continue
                try:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # a live writer holds it
                    raw = os.pread(fd, 8, 0)
                    submitted = struct.unpack(">Q", raw)[0] if len(raw) == 8 else 0
                    with self._transaction():
                        row = self._db.execute(
                            "SELECT committed FROM writers WHERE id = ?", (entry.name,)
                        ).fetchone()
                        committed = row[0] if row else 0
                        self._db.execute(
                            "UPDATE writers SET closed = 1 WHERE id = ?", (entry.name,)
                        )
                    dead += 1
                    lost += max(0, submitted - committed)
                    entry.unlink(missing_ok=True)
                finally:
                    os.close(fd)
        size = self._db.execute("SELECT value FROM meta WHERE key = 'size'").fetchone()[0]
        return Recovery(dead_writers=dead, lost_in_flight=lost, tree_size=int(size))

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

    # -- appending ----------------------------------------------------------

    def _prepare(self, event: AuditEvent) -> tuple[AuditEvent, bytes]:
        if event.trace_id is None:
            ids = telemetry.current_ids()
            if ids is not None:
                event = event.model_copy(update={"trace_id": ids[0], "span_id": ids[1]})
        data = event.model_dump(mode="json", exclude_none=True)
        if event.arguments is not None and event.argument_digest is None:
            data["argument_digest"] = argument_digest(event.arguments)
        return event, event_bytes(self.redactor.apply(data))

    def append(self, event: AuditEvent) -> AuditReceipt:
        """Commit one event; returns its receipt only once it is durable per ``durability``."""
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[AuditEvent]) -> list[AuditReceipt]:
        """Commit several events in one transaction, in order, with consecutive sequence numbers."""
        if not events:
            return []
        span = trace.get_current_span()
        ticket = _Ticket([self._prepare(e) for e in events], self.writer_id)
        self._run(ticket)
        for (event, _), receipt in zip(ticket.events, ticket.receipts, strict=True):
            telemetry.annotate(span, event, receipt.sequence)
        return ticket.receipts

    def submit(self, event: AuditEvent) -> None:
        """Queue an event without waiting; committed within ``flush_seconds``.

        For events whose action does not depend on them being recorded. If the
        process dies first, the next open reports them as lost in flight.
        """
        prepared = self._prepare(event)
        with self._cond:
            self._check_open()
            self._pending.append(prepared)
            self._submitted += 1
            if self._writer_fd is not None:
                # Survives a killed process (page cache); not a power loss.
                os.pwrite(self._writer_fd, struct.pack(">Q", self._submitted), 0)
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="agentor-audit-flush", daemon=True
                )
                self._flusher.start()
            if len(self._pending) >= MAX_BATCH:
                self._wake.set()

    def flush(self) -> None:
        """Commit everything ``submit`` queued so far."""
        with self._cond:
            pending, self._pending = self._pending, []
        if pending:
            self._run(_Ticket(pending, self.writer_id))

    def _flush_loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except AgentorError as exc:
                telemetry.log.error("audit.flush_failed", code=exc.code, message=exc.message)

    def _check_open(self) -> None:
        if self._closed:
            raise AgentorError(
                AuditCode.STORE_CLOSED,
                "the audit log is closed; the action cannot be audited",
                hint="open a new AuditLog before running audited actions",
            )

    def _run(self, ticket: _Ticket) -> None:
        with self._cond:
            self._check_open()
            self._queue.append(ticket)
            while not ticket.done:
                if self._committing:
                    self._cond.wait()
                    continue
                self._committing = True
                batch: list[_Ticket] = []
                count = 0
                while self._queue and (
                    not batch or count + len(self._queue[0].events) <= MAX_BATCH
                ):
                    batch.append(self._queue.pop(0))
                    count += len(batch[-1].events)
                self._cond.release()
                try:
                    self._commit(batch)
                finally:
                    self._cond.acquire()
                    self._committing = False
                    self._cond.notify_all()
        if ticket.error is not None:
            raise ticket.error

    def _load_frontier(self) -> Frontier:
        size = int(self._db.execute("SELECT value FROM meta WHERE key = 'size'").fetchone()[0])
        if self._frontier is not None and self._frontier.size == size:
            return self._frontier
        packed = self._db.execute("SELECT value FROM meta WHERE key = 'frontier'").fetchone()[0]
        top = self._db.execute("SELECT max(seq) FROM events").fetchone()[0]
        if (top if top is not None else -1) != size - 1:
            raise AgentorError(
                AuditCode.STORE_CORRUPT,
                f"the store says {size} events but its last sequence number is {top}",
                hint="run 'agentor audit verify' on the file; do not append to it until explained",
            )
        try:
            return Frontier.unpack(size, bytes(packed))
        except ValueError as exc:
            raise AgentorError(
                AuditCode.STORE_CORRUPT,
                f"the stored tree state is damaged: {exc}",
                hint="run 'agentor audit verify' on the file",
            ) from None

    def _commit(self, batch: list[_Ticket]) -> None:
        witness_note: str | None = None
        try:
            with self._transaction():
                frontier = self._load_frontier()
                frontier = Frontier(frontier.size, frontier.hashes)
                rows: list[tuple[int, bytes, bytes]] = []
                tiles: list[tuple[int, int, bytes]] = []

                def completed(level: int, index: int, digest: bytes) -> None:
                    if level >= TILE_LEVEL:
                        tiles.append((level, index, digest))

                per_writer: dict[str, int] = {}
                for ticket in batch:
                    ticket.receipts = []
                    for _, event_json in ticket.events:
                        seq = frontier.size
                        data = record_bytes(event_json, seq)
                        leaf = leaf_hash(data)
                        frontier.append(leaf, completed)
                        rows.append((seq, leaf, data))
                        # Built from our own int and hex digest: nothing to validate.
                        ticket.receipts.append(
                            AuditReceipt.model_construct(sequence=seq, leaf_hash=leaf.hex())
                        )
                    per_writer[ticket.writer] = per_writer.get(ticket.writer, 0) + len(
                        ticket.events
                    )
                self._db.executemany("INSERT INTO events (seq, leaf, data) VALUES (?, ?, ?)", rows)
                if tiles:
                    self._db.executemany(
                        "INSERT INTO subtrees (level, idx, hash) VALUES (?, ?, ?)", tiles
                    )
                self._db.executemany(
                    "UPDATE meta SET value = ? WHERE key = ?",
                    [(frontier.size, "size"), (frontier.pack(), "frontier")],
                )
                self._db.executemany(
                    "UPDATE writers SET committed = committed + ? WHERE id = ?",
                    [(n, w) for w, n in per_writer.items()],
                )
                if self._checkpoint_due(frontier.size):
                    witness_note = self._write_checkpoint(frontier)
            self._frontier = frontier
        except sqlite3.Error as exc:
            self._frontier = None
            error = map_sqlite_error(exc, self.path)
            telemetry.log.error("audit.commit_failed", code=error.code, path=str(self.path))
            for ticket in batch:
                ticket.error, ticket.receipts = error, []
        except AgentorError as exc:
            self._frontier = None
            for ticket in batch:
                ticket.error, ticket.receipts = exc, []
        finally:
            for ticket in batch:
                ticket.done = True
        if witness_note is not None:
            self._to_witness(witness_note)

    def _checkpoint_due(self, size: int) -> bool:
        last = int(
            self._db.execute("SELECT coalesce(max(size), -1) FROM checkpoints").fetchone()[0]
        )
        self._last_checkpoint_size = last
        if size <= last:
            return False
        return (
            size - max(last, 0) >= self.checkpoint_every
            or time.monotonic() - self._last_checkpoint_time >= self.checkpoint_seconds
        )

    def _write_checkpoint(self, frontier: Frontier) -> str:
        checkpoint = Checkpoint(
            origin=self.origin,
            size=frontier.size,
            root=frontier.root(),
            time=datetime.now(UTC).replace(microsecond=0),
        )
        note = checkpoint.sign(self.signer)
        self._db.execute(
            "INSERT INTO checkpoints (size, note) VALUES (?, ?)", (frontier.size, note)
        )
        self._last_checkpoint_size = frontier.size
        self._last_checkpoint_time = time.monotonic()
        telemetry.log.info("audit.checkpoint", size=frontier.size, root=checkpoint.root.hex())
        return note

    def _to_witness(self, note: str) -> None:
        if self.witness_dir is None:
            return
        try:
            write_witness(self.witness_dir, note)
        except OSError as exc:
            # The checkpoint is committed in the store; a witness that cannot be
            # written weakens truncation detection, so say so loudly.
            telemetry.log.error(
                "audit.witness_failed", dir=str(self.witness_dir), error=exc.strerror
            )

    def checkpoint(self) -> str | None:
        """Sign a checkpoint of the tree now, if it grew since the last; returns the note."""
        self.flush()
        note: str | None = None
        with self._cond:
            while self._committing:
                self._cond.wait()
            self._committing = True
        try:
            with self._transaction():
                frontier = self._load_frontier()
                last = self._db.execute(
                    "SELECT coalesce(max(size), -1) FROM checkpoints"
                ).fetchone()[0]
                if frontier.size > last and frontier.size > 0:
                    note = self._write_checkpoint(frontier)
        except sqlite3.Error as exc:
            raise map_sqlite_error(exc, self.path) from None
        finally:
            with self._cond:
                self._committing = False
                self._cond.notify_all()
        if note is not None:
            self._to_witness(note)
        return note

    def close(self) -> None:
        """Commit queued submissions, sign a final checkpoint, release the store."""
        if self._closed:
            return
        try:
            self.checkpoint()
            with self._transaction():
                self._db.execute("UPDATE writers SET closed = 1 WHERE id = ?", (self.writer_id,))
        except (sqlite3.Error, AgentorError) as exc:
            telemetry.log.error("audit.close_failed", error=str(exc))
        finally:
            self._closed = True
            self._wake.set()
            if self._flusher is not None:
                self._flusher.join(timeout=5)
            if self._writer_fd is not None:
                with contextlib.suppress(OSError):
                    (self._writers_dir() / self.writer_id).unlink()
                os.close(self._writer_fd)
                self._writer_fd = None
            self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------

    @property
    def size(self) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'size'").fetchone()[0])

    def latest_checkpoint(self) -> tuple[int, str] | None:
        row = self._db.execute(
            "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None


def _as_bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


class StoreReader:
    """Read-only access to a store: rows, checkpoints and proofs. Trusts nothing it reads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise AgentorError(
                AuditCode.LOG_UNREADABLE,
                f"no audit store at {self.path}",
                hint="pass the path of an audit .db file or a .jsonl export",
            )
        try:
            self._db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as exc:
            raise AgentorError(
                AuditCode.LOG_UNREADABLE,
                f"{self.path} is not a readable audit store: {exc}",
                hint="pass the path of an audit .db file or a .jsonl export",
            ) from None
        if meta.get("format") != FORMAT:
            raise AgentorError(
                AuditCode.LOG_UNREADABLE,
                f"{self.path} is not an {FORMAT} store",
                hint="pass an agentor audit store",
            )
        self.origin = str(meta.get("origin", ""))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _unreadable(self, exc: sqlite3.Error) -> AgentorError:
        return AgentorError(
            AuditCode.LOG_UNREADABLE,
            f"cannot read {self.path}: {exc}",
            hint="check the file; run 'agentor audit verify'",
        )

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise self._unreadable(exc) from None

    def rows(self, start: int = 0) -> Iterator[tuple[int, bytes, bytes]]:
        """(sequence, stored leaf hash, record bytes) in sequence order."""
        cursor = self._query(
            "SELECT seq, leaf, data FROM events WHERE seq >= ? ORDER BY seq", (start,)
        )
        while True:
            try:
                batch = cursor.fetchmany(4096)
            except sqlite3.Error as exc:
                raise self._unreadable(exc) from None
            if not batch:
                return
            for row in batch:
                # Columns are typed by value in SQLite: a tampered row may hold text.
                if type(row[1]) is bytes and type(row[2]) is bytes:
                    yield row
                else:
                    yield row[0], _as_bytes(row[1]), _as_bytes(row[2])

    def count(self) -> int:
        row = self._query("SELECT coalesce(max(seq) + 1, 0) FROM events").fetchone()
        return int(row[0])

    def checkpoints(self) -> list[str]:
        return [str(note) for (note,) in self._query("SELECT note FROM checkpoints ORDER BY size")]

    def record(self, sequence: int) -> bytes | None:
        row = self._query("SELECT data FROM events WHERE seq = ?", (sequence,)).fetchone()
        return bytes(row[0]) if row else None

    def _perfect(self, level: int, index: int) -> bytes:
        if level >= TILE_LEVEL:
            row = self._query(
                "SELECT hash FROM subtrees WHERE level = ? AND idx = ?", (level, index)
            ).fetchone()
            if row is not None:
                return bytes(row[0])
        lo = index << level
        hi = lo + (1 << level)
        leaves = [
            bytes(r[0])
            for r in self._query(
                "SELECT leaf FROM events WHERE seq >= ? AND seq < ? ORDER BY seq", (lo, hi)
            )
        ]
        if len(leaves) != hi - lo:
            raise AgentorError(
                AuditCode.PROOF_UNAVAILABLE,
                f"events {lo}..{hi - 1} are not all in the store",
                hint="verify the store",
            )
        return root_from_leaf_hashes(leaves)

    def subtree(self, lo: int, hi: int) -> bytes:
        return subtree_hash(lo, hi, self._perfect)

    def root(self, size: int) -> bytes:
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def inclusion_proof(self, sequence: int, size: int) -> list[bytes]:
        return inclusion_proof(sequence, size, self.subtree)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return consistency_proof(old_size, new_size, self.subtree)


__all__ = ["AuditLog", "Durability", "Recovery", "StoreReader"]
