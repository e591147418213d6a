"""Offline proofs in the C2SP tlog-proof text format (https://c2sp.org/tlog-proof).

An inclusion proof is::

    c2sp.org/tlog-proof@v1
    index <n>
    <base64 hash>            (one line per proof hash, leaf side first)

    <signed checkpoint>

A consistency proof between two checkpoints uses the same layout with the
first line ``agentor.dev/tlog-consistency@v1``, an ``old <size>`` line, the
hashes, a blank line, then both checkpoints (old, then new). Both verify with
only this package and cryptography.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final

from agentor_audit.codes import AuditCode
from agentor_audit.merkle import HASH_SIZE, leaf_hash, verify_consistency, verify_inclusion
from agentor_audit.note import Checkpoint, NoteVerifier, verify_checkpoint
from agentor_audit.store import StoreReader
from agentor_core.errors import AgentorError

INCLUSION_HEADER: Final = "c2sp.org/tlog-proof@v1"
CONSISTENCY_HEADER: Final = "agentor.dev/tlog-consistency@v1"
MAX_PROOF_HASHES: Final = 64


def _invalid(what: str) -> AgentorError:
    return AgentorError(
        AuditCode.PROOF_UNAVAILABLE,
        f"malformed proof: {what}",
        hint="pass a proof made by 'agentor audit prove'",
    )


def _hashes(lines: list[str]) -> list[bytes]:
    if len(lines) > MAX_PROOF_HASHES:
        raise _invalid("too many hashes")
    out = []
    for line in lines:
        try:
            raw = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid("a hash is not base64") from None
        if len(raw) != HASH_SIZE:
            raise _invalid("a hash is not 32 bytes")
        out.append(raw)
    return out


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in items]


def _size(note: str) -> int:
    parts = note.split("\n", 2)
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else -1


def _checkpoint_at_or_after(reader: StoreReader, size: int | None, minimum: int) -> tuple[str, int]:
    """The checkpoint of exactly ``size``, or (no size given) the latest one above ``minimum``."""
    notes = [(note, _size(note)) for note in reader.checkpoints()]
    if size is not None:
        for note, found in notes:
            if found == size:
                return note, found
    elif notes and notes[-1][1] > minimum:
        return notes[-1]
    wanted = f"of size {size}" if size is not None else f"covering sequence {minimum}"
    raise AgentorError(
        AuditCode.PROOF_UNAVAILABLE,
        f"the store has no checkpoint {wanted}",
        hint="list them with 'agentor audit tail --checkpoints', or wait for the next one",
    )


def inclusion_proof_text(reader: StoreReader, sequence: int, *, size: int | None = None) -> str:
    """A tlog-proof for event ``sequence`` under the latest checkpoint (or that of ``size``)."""
    if sequence < 0 or reader.record(sequence) is None:
        raise AgentorError(
            AuditCode.PROOF_UNAVAILABLE,
            f"no event {sequence} in the store",
            hint="check the sequence number with 'agentor audit tail'",
        )
    note, tree_size = _checkpoint_at_or_after(reader, size, sequence)
    if sequence >= tree_size:
        raise AgentorError(
            AuditCode.PROOF_UNAVAILABLE,
            f"checkpoint {tree_size} does not cover event {sequence}",
            hint="use a later checkpoint",
        )
    path = reader.inclusion_proof(sequence, tree_size)
    return "\n".join([INCLUSION_HEADER, f"index {sequence}", *_b64(path)]) + "\n\n" + note


def consistency_proof_text(reader: StoreReader, old_size: int, new_size: int | None = None) -> str:
    old_note, old = _checkpoint_at_or_after(reader, old_size, -1)
    new_note, new = _checkpoint_at_or_after(reader, new_size, old - 1)
    if new < old:
        raise AgentorError(
            AuditCode.PROOF_UNAVAILABLE,
            f"checkpoint {new} is older than {old}",
            hint="give the older size first",
        )
    path = reader.consistency_proof(old, new)
    return "\n".join([CONSISTENCY_HEADER, f"old {old}", *_b64(path)]) + "\n\n" + old_note + new_note


@dataclass(frozen=True, slots=True)
class InclusionResult:
    index: int
    checkpoint: Checkpoint


def _split(text: str, header: str) -> tuple[list[str], str]:
    if not text.startswith(header + "\n") or "\n\n" not in text:
        raise _invalid(f"does not start with {header!r}")
    head, _, rest = text.partition("\n\n")
    return head.split("\n")[1:], rest


def verify_inclusion_text(text: str, record: bytes, verifier: NoteVerifier) -> InclusionResult:
    """Check ``record`` (leaf data) sits at the proof's index in a tree ``verifier`` signed."""
    lines, note = _split(text, INCLUSION_HEADER)
    index_lines = [line for line in lines if line.startswith("index ")]
    if len(index_lines) != 1 or not index_lines[0][6:].isdigit():
        raise _invalid("no 'index N' line")
    index = int(index_lines[0][6:])
    hashes = _hashes([line for line in lines if not line.startswith(("index ", "extra "))])
    checkpoint = verify_checkpoint(note, verifier)
    if not verify_inclusion(index, checkpoint.size, leaf_hash(record), hashes, checkpoint.root):
        raise AgentorError(
            AuditCode.LOG_TAMPERED,
            f"event {index} is not included in the signed tree of size {checkpoint.size}",
            hint="the event or the proof was altered",
        )
    return InclusionResult(index=index, checkpoint=checkpoint)


def verify_consistency_text(text: str, verifier: NoteVerifier) -> tuple[Checkpoint, Checkpoint]:
    lines, notes = _split(text, CONSISTENCY_HEADER)
    if not lines or not lines[0].startswith("old "):
        raise _invalid("no 'old N' line")
    hashes = _hashes(lines[1:])
    # Two signed notes back to back: the first ends after its run of signature lines.
    separator = notes.find("\n\n")
    if separator < 0:
        raise _invalid("two checkpoints expected")
    end = separator + 2
    while notes.startswith("\u2014", end):
        newline = notes.find("\n", end)
        if newline < 0:
            raise _invalid("two checkpoints expected")
        end = newline + 1
    old_note, new_note = notes[:end], notes[end:]
    old = verify_checkpoint(old_note, verifier)
    new = verify_checkpoint(new_note, verifier, origin=old.origin)
    if not verify_consistency(old.size, new.size, old.root, new.root, hashes):
        raise AgentorError(
            AuditCode.LOG_TAMPERED,
            f"the tree of size {new.size} does not extend the tree of size {old.size}: "
            "the log was rewritten",
            hint="keep both checkpoints: together they prove a fork",
        )
    return old, new
