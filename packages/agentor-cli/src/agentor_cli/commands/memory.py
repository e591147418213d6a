"""``agentor memory``: list, search and remove what agents remembered, with its provenance.

Remembered text may have come from anywhere (a web page, an e-mail), so it is
printed inert (no markup, control characters replaced), one line per record,
always with its trust: an operator sees at a glance what came from untrusted
content.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import click
from rich.text import Text

from agentor_cli.output import emit_json, handles_errors, inert, json_option, stdout
from agentor_core.errors import AgentorError
from agentor_core.memory import MemoryRecord
from agentor_memory import MemoryCode, SqliteMemoryStore, create_memory_store

_SHOWN_CHARS: Final = 160

db_option = click.option(
    "--db",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="AGENTOR_MEMORY_DB",
    help="The memory store (default: memory/memory.db in agentor's state folder).",
)
limit_option = click.option(
    "--limit", type=click.IntRange(1, 10_000), default=20, show_default=True
)


def _open(path: Path | None) -> SqliteMemoryStore:
    return create_memory_store(path=path)


def _record_json(record: MemoryRecord) -> dict[str, Any]:
    document: dict[str, Any] = record.model_dump(mode="json")
    document["trusted"] = record.labels.is_trusted
    return document


def _print_records(records: Sequence[MemoryRecord], store: SqliteMemoryStore) -> None:
    console = stdout()
    if not records:
        console.print(Text(f"no records in {store.path}"))
        return
    for record in records:
        labels = record.labels
        trust = "trusted" if labels.is_trusted else "UNTRUSTED"
        private = " private" if labels.is_private else ""
        sources = "+".join(sorted(labels.sources)) or "-"
        text = record.text.replace("\n", " ")
        if len(text) > _SHOWN_CHARS:
            text = text[:_SHOWN_CHARS] + "…"
        console.print(
            Text.assemble(
                (record.id, "bold"),
                f"  {record.namespace}  {record.created_at.isoformat(timespec='seconds')}  ",
                (f"{trust}{private} ({sources})", "green" if labels.is_trusted else "red"),
            )
        )
        console.print(Text.assemble("  ", inert(text, one_line=True)))


@click.group()
def memory() -> None:
    """What agents remembered. Every record keeps the trust of where its text came from."""


@memory.command("list")
@click.option("--namespace", default=None, help="Only this namespace.")
@limit_option
@db_option
@json_option
@handles_errors
def list_memory(namespace: str | None, limit: int, path: Path | None, as_json: bool) -> None:
    """List the newest records (of every namespace, or of one) and the store's counts."""
    with _open(path) as store:
        records = store.list(namespace, limit=min(limit, store.limits.max_results))
        stats = store.stats()
        if as_json:
            emit_json(
                {
                    "ok": True,
                    "file": str(store.path),
                    "stats": stats.model_dump(mode="json"),
                    "records": [_record_json(r) for r in records],
                }
            )
            return
        _print_records(records, store)
        stdout().print(
            Text(
                f"{stats.records} records in {len(stats.namespaces)} namespaces, "
                f"{stats.evicted} evicted by retention, search: {stats.search}",
                style="dim",
            )
        )


@memory.command("search")
@click.argument("namespace")
@click.argument("query")
@limit_option
@db_option
@json_option
@handles_errors
def search_memory(namespace: str, query: str, limit: int, path: Path | None, as_json: bool) -> None:
    """Records of NAMESPACE matching any word of QUERY (plain words, never search syntax)."""
    with _open(path) as store:
        records = store.search(namespace, query, limit=min(limit, store.limits.max_results))
        if as_json:
            emit_json(
                {
                    "ok": True,
                    "file": str(store.path),
                    "search": store.search_mode,
                    "records": [_record_json(r) for r in records],
                }
            )
            return
        _print_records(records, store)


@memory.command("rm")
@click.argument("record_id")
@db_option
@json_option
@handles_errors
def remove_memory(record_id: str, path: Path | None, as_json: bool) -> None:
    """Remove the record RECORD_ID."""
    with _open(path) as store:
        if not store.delete(record_id):
            raise AgentorError(
                MemoryCode.RECORD_NOT_FOUND,
                f"no record {record_id} in {store.path}",
                hint="see the ids with 'agentor memory list'",
            )
        if as_json:
            emit_json({"ok": True, "id": record_id, "removed": True, "file": str(store.path)})
        else:
            stdout().print(Text(f"removed {record_id}"))


@memory.command("purge")
@click.option("--namespace", default=None, help="Remove every record of this namespace.")
@click.option("--all", "everything", is_flag=True, help="Remove every record of every namespace.")
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0, min_open=True, max=36_500),
    default=None,
    help="Remove the records older than this many days (of every namespace).",
)
@click.option("--yes", is_flag=True, help="Really delete (without it, nothing is deleted).")
@db_option
@json_option
@handles_errors
def purge_memory(
    namespace: str | None,
    everything: bool,
    older_than: float | None,
    yes: bool,
    path: Path | None,
    as_json: bool,
) -> None:
    """Remove records: one namespace (--namespace), all (--all), or the old (--older-than)."""
    chosen = [flag for flag in (namespace is not None, everything, older_than is not None) if flag]
    if len(chosen) != 1:
        raise AgentorError(
            MemoryCode.PURGE_UNCONFIRMED,
            "say what to purge: exactly one of --namespace NS, --all or --older-than DAYS",
            hint="e.g. agentor memory purge --namespace notes --yes",
        )
    if not yes:
        raise AgentorError(
            MemoryCode.PURGE_UNCONFIRMED,
            "purge deletes records for good and was not confirmed; nothing was deleted",
            hint="add --yes to delete (see what is there first with 'agentor memory list')",
        )
    if older_than is not None:
        with create_memory_store(path=path, max_age_s=older_than * 86_400) as aged:
            removed = aged.purge_expired()
            file = aged.path
    else:
        with _open(path) as store:
            removed = store.purge(namespace)
            file = store.path
    if as_json:
        emit_json({"ok": True, "removed": removed, "namespace": namespace, "file": str(file)})
    else:
        stdout().print(Text(f"removed {removed} records from {file}"))
