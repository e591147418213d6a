"""Offline verification: recompute every leaf, the tree, and every checkpoint against one key.

Needs only this package and ``cryptography`` (plus pydantic through
agentor-core for the report model). Reads a SQLite store or a JSON Lines
export, trusts none of the stored hashes, and reports the first sequence number
whose record or attestation is in doubt:

* a record whose bytes do not hash to its stored leaf hash, or that sits at a
  position other than the one it names: that record's sequence number (or the
  sequence it names, if smaller: an inserted or moved entry);
* a missing sequence number: the first one missing;
* a checkpoint (from the store or a witness) beyond the end of the log
  (truncation, rollback): the first missing sequence number;
* a checkpoint not signed by the key, of another log, or whose root is not the
  root of the events: the size of the last checkpoint that did verify (events
  from there on are not proven).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from agentor_audit.codes import AuditCode
from agentor_audit.merkle import EMPTY_ROOT, Levels, leaf_hash
from agentor_audit.note import Checkpoint, NoteVerifier, open_note
from agentor_audit.records import (
    MAX_RECORD_BYTES,
    RECORD_PREFIX,
    canonical_bytes,
    claims_sequence,
)
from agentor_audit.store import FORMAT, StoreReader
from agentor_audit.witness import read_witness
from agentor_core.errors import AgentorError

MAX_LINE_BYTES: Final = 2 * MAX_RECORD_BYTES
_CLAIM: Final = re.compile(rb',"sequence":(0|[1-9][0-9]{0,17})}\Z')


class Problem(StrEnum):
    MISSING_EVENT = "missing_event"
    DUPLICATE_EVENT = "duplicate_event"
    WRONG_POSITION = "wrong_position"
    LEAF_MISMATCH = "leaf_mismatch"
    MALFORMED_RECORD = "malformed_record"
    TRUNCATED = "truncated"
    CHECKPOINT_MALFORMED = "checkpoint_malformed"
    CHECKPOINT_SIGNATURE = "checkpoint_signature"
    CHECKPOINT_ORIGIN = "checkpoint_origin"
    CHECKPOINT_ROOT = "checkpoint_root_mismatch"
    NO_CHECKPOINT = "no_checkpoint"


class VerifyReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    origin: str | None
    size: int
    """Events read in sequence before the first problem (all of them when ok)."""
    root: str
    """Hex root hash of the tree over those events."""
    attested_size: int
    """Size of the largest checkpoint that verified; events below it are proven."""
    checkpoints_verified: int
    unattested: int
    """Events after the last verified checkpoint: intact, but not yet signed."""
    first_bad_sequence: int | None = None
    problem: Problem | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    position: int
    sequence: int
    stored_leaf: bytes | None
    data: bytes | None
    """Record bytes, or None when the line could not be read as a record."""


@dataclass(frozen=True, slots=True)
class _Finding:
    first_bad: int
    problem: Problem
    reason: str


def _check(entry: Entry, expected: int) -> _Finding | bytes:
    """The leaf hash of ``entry`` at position ``expected``, or why it does not belong there."""
    if entry.data is None:
        reason = f"entry {entry.position} is not a readable record"
        return _Finding(expected, Problem.MALFORMED_RECORD, reason)
    if entry.sequence > expected:
        reason = f"event {expected} is missing (next is {entry.sequence})"
        return _Finding(expected, Problem.MISSING_EVENT, reason)
    if entry.sequence < expected:
        reason = f"sequence {entry.sequence} appears again at position {expected}"
        return _Finding(entry.sequence, Problem.DUPLICATE_EVENT, reason)
    data = entry.data
    if not claims_sequence(data, expected):
        match = _CLAIM.search(data)
        claimed = int(match.group(1)) if match and data.startswith(b'{"event":') else expected
        named = claimed if match else "none"
        reason = f"the record at position {expected} names sequence {named}"
        return _Finding(min(expected, claimed), Problem.WRONG_POSITION, reason)
    digest = leaf_hash(data)
    if entry.stored_leaf is not None and digest != entry.stored_leaf:
        reason = f"event {expected} does not hash to its recorded leaf hash: it was altered"
        return _Finding(expected, Problem.LEAF_MISMATCH, reason)
    return digest


def _scan(entries: Iterable[Entry]) -> tuple[list[bytes], _Finding | None]:
    """Leaf hashes of the entries in order, up to the first one out of place or altered."""
    leaves: list[bytes] = []
    for entry in entries:
        result = _check(entry, len(leaves))
        if isinstance(result, _Finding):
            return leaves, result
        leaves.append(result)
    return leaves, None


def _scan_rows(rows: Iterable[tuple[int, bytes, bytes]]) -> tuple[list[bytes], _Finding | None]:
    """:func:`_scan` for store rows, without per-row objects: the 1M-event hot loop.

    Any row that fails a check is handed to :func:`_check` for the diagnosis.
    """
    leaves: list[bytes] = []
    append = leaves.append
    sha = hashlib.sha256
    expected = 0
    for seq, stored, data in rows:
        if (
            seq == expected
            and data.startswith(RECORD_PREFIX)
            and data.endswith(b',"sequence":%d}' % seq)
        ):
            digest = sha(b"\x00" + data).digest()
            if digest == stored:
                append(digest)
                expected += 1
                continue
        result = _check(Entry(seq, seq, stored, data), expected)
        if isinstance(result, _Finding):
            return leaves, result
        append(result)  # pragma: no cover - _check agrees with the fast test
        expected += 1  # pragma: no cover
    return leaves, None


def _open_checkpoints(
    notes: Iterable[tuple[str, str]], verifier: NoteVerifier, origin: str | None
) -> tuple[list[Checkpoint], list[tuple[Problem, str, int]]]:
    """Checkpoints signed by ``verifier`` (sorted by size), and the rejected ones with a reason."""
    seen: set[str] = set()
    verified: list[Checkpoint] = []
    rejected: list[tuple[Problem, str, int]] = []  # (problem, reason, claimed size or -1)
    for source, note in notes:
        if note in seen:
            continue
        seen.add(note)
        try:
            opened = open_note(note, (verifier,))
            checkpoint = Checkpoint.parse_body(opened.text)
        except AgentorError as exc:
            rejected.append((Problem.CHECKPOINT_MALFORMED, f"{source}: {exc.message}", -1))
            continue
        where = f"checkpoint of size {checkpoint.size} ({source})"
        if not opened.verified_by:
            why = "a signature that does not verify" if opened.bad else "no trusted signature"
            rejected.append((Problem.CHECKPOINT_SIGNATURE, f"{where} has {why}", checkpoint.size))
        elif origin is not None and checkpoint.origin != origin:
            reason = f"{where} is for log {checkpoint.origin!r}"
            rejected.append((Problem.CHECKPOINT_ORIGIN, reason, checkpoint.size))
        else:
            verified.append(checkpoint)
    verified.sort(key=lambda c: c.size)
    return verified, rejected


def verify_entries(
    entries: Iterable[Entry],
    notes: Iterable[tuple[str, str]],
    verifier: NoteVerifier,
    *,
    origin: str | None = None,
    require_checkpoint: bool = True,
    rows: Iterable[tuple[int, bytes, bytes]] | None = None,
) -> VerifyReport:
    """The verification algorithm; ``notes`` are (source, signed note text) pairs.

    ``rows`` (sequence, stored leaf, record bytes), when given, replaces ``entries``.
    """
    leaves, event_problem = _scan(entries) if rows is None else _scan_rows(rows)
    found: list[_Finding] = [event_problem] if event_problem else []
    size = len(leaves)
    levels = Levels(leaves)
    verified, bad_notes = _open_checkpoints(notes, verifier, origin)

    good = 0
    good_sizes: list[int] = []
    for checkpoint in verified:
        if checkpoint.size > size:
            if not found:
                found.append(
                    _Finding(
                        size,
                        Problem.TRUNCATED,
                        f"a checkpoint signs {checkpoint.size} events but the log ends at {size}: "
                        f"events {size}..{checkpoint.size - 1} were removed",
                    )
                )
            break
        if levels.root(checkpoint.size) != checkpoint.root:
            found.append(
                _Finding(
                    good,
                    Problem.CHECKPOINT_ROOT,
                    f"the events below {checkpoint.size} lack the root the checkpoint signed: "
                    f"something in {good}..{checkpoint.size - 1} was rewritten",
                )
            )
            break
        good = checkpoint.size
        good_sizes.append(good)
    count = len(good_sizes)
    for problem, reason, claimed in bad_notes:
        # Events from the last good checkpoint below the bad one are not proven by it.
        below = [s for s in good_sizes if claimed < 0 or s < claimed]
        found.append(_Finding(max(below, default=0), problem, reason))
    if require_checkpoint and size > 0 and count == 0 and not found:
        found.append(
            _Finding(0, Problem.NO_CHECKPOINT, "no checkpoint signed by the key covers any event")
        )
    first = min(found, key=lambda f: f.first_bad) if found else None
    return VerifyReport(
        ok=first is None,
        origin=origin,
        size=size,
        root=(levels.root() if size else EMPTY_ROOT).hex(),
        attested_size=good,
        checkpoints_verified=count,
        unattested=size - good,
        first_bad_sequence=first.first_bad if first else None,
        problem=first.problem if first else None,
        reason=first.reason if first else None,
    )


def _witness_notes(witness: Path | None) -> list[tuple[str, str]]:
    if witness is None:
        return []
    note = read_witness(witness)
    return [] if note is None else [(f"witness {witness}", note)]


def verify_store(
    path: Path, verifier: NoteVerifier, *, witness: Path | None = None
) -> VerifyReport:
    with StoreReader(path) as reader:
        notes = [("store", n) for n in reader.checkpoints()] + _witness_notes(witness)
        return verify_entries((), notes, verifier, origin=reader.origin, rows=reader.rows())


@dataclass(slots=True)
class JsonlLog:
    origin: str
    entries: list[Entry]
    notes: list[tuple[str, str]]


def _parse_line(raw: bytes, number: int, path: Path) -> Any:
    if len(raw) > MAX_LINE_BYTES:
        raise AgentorError(
            AuditCode.LOG_UNREADABLE,
            f"{path}:{number}: line longer than {MAX_LINE_BYTES} bytes",
            hint="this is not an agentor audit export",
        )
    try:
        return json.loads(raw, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        return None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys, other readers the first: a
    # line with both could show one event and verify as another.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("an object holds the same key twice")
    return result


def read_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    """(kind, object) per line; the first must be the header."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise AgentorError(
            AuditCode.LOG_UNREADABLE, f"cannot open {path}: {exc.strerror}", hint="check the path"
        ) from None
    with handle:
        for number, raw in enumerate(
            iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b""), start=1
        ):
            if not raw.strip():
                continue
            obj = _parse_line(raw, number, path)
            kind = obj.get("kind") if isinstance(obj, dict) else None
            yield (kind if isinstance(kind, str) else "invalid"), obj


def load_jsonl(path: Path) -> JsonlLog:
    lines = read_jsonl(path)
    first = next(lines, None)
    if (
        first is None
        or first[0] != "header"
        or first[1].get("format") != FORMAT
        or not isinstance(first[1].get("origin"), str)
    ):
        raise AgentorError(
            AuditCode.LOG_UNREADABLE,
            f"{path} does not start with an {FORMAT} header line",
            hint="export the log with 'agentor audit export --format jsonl'",
        )
    log = JsonlLog(origin=first[1]["origin"], entries=[], notes=[])
    for kind, obj in lines:
        position = len(log.entries)
        if kind == "checkpoint" and isinstance(obj.get("note"), str):
            log.notes.append(("export", obj["note"]))
        elif kind == "event":
            log.entries.append(_entry(obj, position))
        else:
            log.entries.append(Entry(position, position, None, None))
    return log


def _entry(obj: dict[str, Any], position: int) -> Entry:
    record = obj.get("record")
    leaf = obj.get("leaf_hash")
    if not isinstance(record, dict) or not isinstance(leaf, str) or len(leaf) != 64:
        return Entry(position, position, None, None)
    sequence = record.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        return Entry(position, position, None, None)
    try:
        stored = bytes.fromhex(leaf)
        data = canonical_bytes(record)
    except (ValueError, AgentorError):
        return Entry(position, sequence, None, None)
    return Entry(position, sequence, stored, data)


def verify_jsonl(
    path: Path, verifier: NoteVerifier, *, witness: Path | None = None
) -> VerifyReport:
    log = load_jsonl(path)
    return verify_entries(
        log.entries, log.notes + _witness_notes(witness), verifier, origin=log.origin
    )


def verify_path(
    path: Path,
    verifier: NoteVerifier,
    *,
    witness: Path | None = None,
    expected_origin: str | None = None,
) -> VerifyReport:
    """Verify a store (SQLite) or an export (``.jsonl``), chosen by the file's first bytes.

    ``expected_origin`` names the log the auditor was promised. Without it, a log
    signed by the same key for another origin (another deployment, a test run)
    would verify as intact in its place.
    """
    report = _verify_any(path, verifier, witness=witness)
    if expected_origin is not None and report.origin != expected_origin:
        return report.model_copy(
            update={
                "ok": False,
                "first_bad_sequence": 0,
                "problem": Problem.CHECKPOINT_ORIGIN,
                "reason": f"this is log {report.origin!r}, not the expected {expected_origin!r}",
            }
        )
    return report


def _verify_any(path: Path, verifier: NoteVerifier, *, witness: Path | None) -> VerifyReport:
    try:
        with path.open("rb") as handle:
            magic = handle.read(16)
    except OSError as exc:
        raise AgentorError(
            AuditCode.LOG_UNREADABLE, f"cannot open {path}: {exc.strerror}", hint="check the path"
        ) from None
    if magic.startswith(b"SQLite format 3"):
        return verify_store(path, verifier, witness=witness)
    return verify_jsonl(path, verifier, witness=witness)
