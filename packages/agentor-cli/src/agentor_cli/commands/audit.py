"""``agentor audit``: verify, prove, tail, export and import the tamper-evident log; make its key.

Verification needs only the log (a SQLite store or a JSON Lines export) and
the checkpoint verifier key; it exits 1 and names the first bad sequence
number when anything was altered, removed, reordered or rolled back.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click
from rich.text import Text

from agentor_audit import (
    NoteSigner,
    StoreReader,
    load_verifier,
    verify_path,
    write_key_files,
)
from agentor_audit.codes import AuditCode
from agentor_audit.proofs import (
    consistency_proof_text,
    inclusion_proof_text,
    verify_consistency_text,
    verify_inclusion_text,
)
from agentor_audit.sink import DEFAULT_KEY_NAME, default_dir
from agentor_audit.transfer import export_jsonl, import_jsonl
from agentor_cli.output import EXIT_FAILED, emit_json, handles_errors, json_option, stdout
from agentor_core.errors import AgentorError

_LOG = click.Path(dir_okay=False, path_type=Path)


def _default_log() -> Path:
    return default_dir() / "audit.db"


log_argument = click.argument("log", type=_LOG, required=False)
key_option = click.option(
    "--key",
    "key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The checkpoint verifier key (.pub written by 'agentor audit keygen').",
)


@click.group()
def audit() -> None:
    """The tamper-evident audit log: every decision and effect, signed and provable.

    LOG is a store (.db) or a JSON Lines export; it defaults to the store in
    agentor's state folder.
    """


@audit.command()
@click.option("--out", type=_LOG, required=True, help="Where to write the signing key (0600).")
@click.option("--name", default=DEFAULT_KEY_NAME, show_default=True, help="Key name.")
@json_option
@handles_errors
def keygen(out: Path, name: str, as_json: bool) -> None:
    """Make an Ed25519 checkpoint key: OUT (private, 0600) and OUT.pub (give it to auditors)."""
    signer = NoteSigner.generate(name)
    public = write_key_files(signer, out)
    verifier = signer.verifier.encode()
    if as_json:
        emit_json({"ok": True, "key": str(out), "public_key": str(public), "verifier": verifier})
    else:
        stdout().print(Text(f"signing key:  {out}\nverifier key: {public}\n{verifier}"))


@audit.command()
@click.argument("log", type=_LOG)
@click.option(
    "--key",
    "key",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The checkpoint verifier key (.pub).",
)
@click.option(
    "--witness",
    type=click.Path(file_okay=False, path_type=Path),
    help="A witness folder holding the latest checkpoint, to catch truncation and rollback.",
)
@click.option(
    "--strict", is_flag=True, help="Also fail when events after the last checkpoint are unsigned."
)
@click.option(
    "--origin",
    "expected_origin",
    help="The log's expected origin line; refuses another log signed by the same key.",
)
@json_option
@handles_errors
def verify(
    log: Path,
    key: Path,
    witness: Path | None,
    strict: bool,
    expected_origin: str | None,
    as_json: bool,
) -> None:
    """Recompute every leaf, the Merkle tree and every checkpoint; report the first bad sequence."""
    report = verify_path(log, load_verifier(key), witness=witness, expected_origin=expected_origin)
    failed = not report.ok or (strict and report.unattested > 0)
    if as_json:
        emit_json({**report.model_dump(mode="json"), "ok": not failed})
    else:
        console = stdout()
        if report.ok:
            console.print(
                Text(
                    f"ok: {report.size} events, "
                    f"{report.checkpoints_verified} checkpoint(s) verified, "
                    f"root {report.root}",
                    style="green",
                )
            )
            if report.unattested:
                console.print(
                    Text(
                        f"{report.unattested} event(s) after the last checkpoint "
                        "are intact but not yet signed",
                        style="yellow",
                    )
                )
        else:
            console.print(
                Text.assemble(
                    ("TAMPERED", "bold red"),
                    f" first bad sequence {report.first_bad_sequence} "
                    f"[{report.problem.value if report.problem else ''}]: {report.reason}",
                )
            )
            console.print(
                Text(
                    f"verified: {report.attested_size} event(s) proven by checkpoints; "
                    "do not trust anything from the first bad sequence on",
                )
            )
    if failed:
        sys.exit(EXIT_FAILED)


@audit.command()
@log_argument
@click.option("--sequence", type=click.IntRange(min=0), help="Prove this event is in the log.")
@click.option(
    "--size",
    type=click.IntRange(min=1),
    help="Against the checkpoint of this size (default: latest).",
)
@click.option(
    "--consistency",
    "old",
    type=click.IntRange(min=1),
    help="Prove the checkpoint of this size is a prefix of --size (default latest).",
)
@key_option
@json_option
@handles_errors
def prove(
    log: Path | None,
    sequence: int | None,
    size: int | None,
    old: int | None,
    key: Path | None,
    as_json: bool,
) -> None:
    """Print an inclusion (C2SP tlog-proof) or consistency proof; with --key, check it first."""
    if (sequence is None) == (old is None):
        raise AgentorError(
            AuditCode.PROOF_UNAVAILABLE,
            "say what to prove: --sequence N (inclusion) or --consistency OLD (consistency)",
            hint="e.g. 'agentor audit prove LOG --sequence 42'",
        )
    path = log or _default_log()
    with StoreReader(path) as reader:
        if sequence is not None:
            text = inclusion_proof_text(reader, sequence, size=size)
            record = reader.record(sequence)
        else:
            text = consistency_proof_text(reader, old or 0, size)
            record = None
    verified = None
    if key is not None:
        verifier = load_verifier(key)
        if record is not None:
            verify_inclusion_text(text, record, verifier)
        else:
            verify_consistency_text(text, verifier)
        verified = True
    if as_json:
        document: dict[str, object] = {"ok": True, "proof": text, "verified": verified}
        if record is not None:
            document["record"] = json.loads(record)
        emit_json(document)
    else:
        click.echo(text, nl=False)


@audit.command()
@log_argument
@click.option("-n", "count", type=click.IntRange(min=1, max=100_000), default=20, show_default=True)
@click.option("--checkpoints", is_flag=True, help="Show the latest signed checkpoints instead.")
@json_option
@handles_errors
def tail(log: Path | None, count: int, checkpoints: bool, as_json: bool) -> None:
    """Show the last records (or checkpoints) of the log. Reading is not verifying: see 'verify'."""
    with StoreReader(log or _default_log()) as reader:
        if checkpoints:
            notes = reader.checkpoints()[-count:]
            if as_json:
                emit_json({"ok": True, "checkpoints": notes})
            else:
                for note in notes:
                    click.echo(note)
            return
        start = max(0, reader.count() - count)
        records = [json.loads(data) for _, _, data in reader.rows(start)]
    if as_json:
        emit_json({"ok": True, "records": records})
        return
    console = stdout()
    for record in records:
        event = record.get("event", {})
        parts = [
            f"{record.get('sequence'):>8}",
            str(event.get("time", "")),
            str(event.get("type", "")),
            str(event.get("tool", "")),
            str(event.get("verdict", event.get("outcome", ""))),
            str(event.get("rule_id", "")),
        ]
        console.print(Text("  ".join(p for p in parts if p)))


@audit.command()
@log_argument
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--out", type=_LOG, help="Write here instead of stdout.")
@json_option
@handles_errors
def export(log: Path | None, fmt: str, out: Path | None, as_json: bool) -> None:
    """Export the store as JSON Lines (header, one line per event, the signed checkpoints)."""
    source = log or _default_log()
    if out is None:
        if as_json:
            raise AgentorError(
                AuditCode.LOG_UNREADABLE,
                "--json needs --out: the export itself would be printed on stdout",
                hint="add --out FILE",
            )
        count = export_jsonl(source, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    try:
        handle = out.open("xb")
    except OSError as exc:
        raise _export_failed(out, exc) from None
    try:
        with handle:
            count = export_jsonl(source, handle)
    except (AgentorError, OSError) as exc:
        # Never leave a partial export that looks like a (short) log.
        with contextlib.suppress(OSError):
            out.unlink()
        if isinstance(exc, AgentorError):
            raise
        raise _export_failed(out, exc) from None
    if as_json:
        emit_json({"ok": True, "format": fmt, "events": count, "out": str(out)})
    else:
        stdout().print(Text(f"exported {count} events to {out}"))


def _export_failed(out: Path, exc: OSError) -> AgentorError:
    return AgentorError(
        AuditCode.EXPORT_FAILED,
        f"cannot write the export to {out}: {exc.strerror or type(exc).__name__}",
        hint="name a new file with --out: an export never overwrites one",
    )


@audit.command(name="import")
@click.argument("source", type=_LOG)
@click.option("--into", type=_LOG, required=True, help="A new store file to create.")
@click.option(
    "--key",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Verifier key (.pub).",
)
@json_option
@handles_errors
def import_(source: Path, into: Path, key: Path, as_json: bool) -> None:
    """Verify a JSON Lines export against KEY, then load it into a new store."""
    report = import_jsonl(source, into, load_verifier(key))
    if as_json:
        emit_json({"ok": True, "events": report.size, "into": str(into), "root": report.root})
    else:
        stdout().print(Text(f"imported {report.size} verified events into {into}"))
