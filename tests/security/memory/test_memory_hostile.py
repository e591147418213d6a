"""Hostile input to the memory store: search syntax, size, Unicode, races, damaged files."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentor_core.errors import AgentorError
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.memory import MemoryRecord
from agentor_memory import MemoryLimits, SqliteMemoryStore, fts5_available, new_record

UNTRUSTED = LabelSet.of(Label.of(Source.UNTRUSTED_TOOL))
TRUSTED = LabelSet.of(Label.of(Source.USER))

needs_fts = pytest.mark.skipif(not fts5_available(), reason="this Python's SQLite has no FTS5")

FTS_SYNTAX = [
    "NEAR(alpha beta, 1)",
    "text:alpha",
    "records_fts:alpha",
    "alpha*",
    '"alpha',
    'alpha"',
    '""',
    "alpha NOT beta",
    "alpha AND NOT beta",
    "^alpha",
    "(alpha",
    "alpha)",
    "-alpha",
    "+alpha",
    "{text}: alpha",
    "alpha OR",
    "OR",
    "NOT",
    "*",
    "a\x00b",
    "alpha' OR '1'='1",
    "%",
    "_",
    "\\",
    "rank MATCH 'x'",
]


@pytest.fixture(params=["fts5", "like"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteMemoryStore]:
    if request.param == "fts5" and not fts5_available():
        pytest.skip("this Python's SQLite has no FTS5")
    with SqliteMemoryStore(tmp_path / "m.db", fts=request.param == "fts5") as opened:
        yield opened


@pytest.mark.parametrize("query", FTS_SYNTAX)
def test_search_syntax_is_plain_words(store: SqliteMemoryStore, query: str) -> None:
    store.add(new_record("n", "alpha beta", UNTRUSTED))
    store.add(new_record("n", "gamma delta", UNTRUSTED))
    store.add(new_record("other", "alpha in another namespace", UNTRUSTED))
    found = store.search("n", query, limit=10)
    # Whatever the text says, it searches this namespace for its words, nothing else.
    assert all(r.namespace == "n" for r in found)
    words = {w.lower() for w in re.findall(r"\w+", query)}
    for record in found:
        if words:
            assert any(word in record.text.lower() for word in words)


@needs_fts
def test_operators_are_words_not_operators(tmp_path: Path) -> None:
    with SqliteMemoryStore(tmp_path / "m.db", fts=True) as store:
        store.add(new_record("n", "alpha beta", UNTRUSTED))
        store.add(new_record("n", "we will NOT go", UNTRUSTED))
        # "NOT beta" as an operator would exclude the first record; as words it finds both.
        assert {r.text for r in store.search("n", "alpha NOT beta")} == {
            "alpha beta",
            "we will NOT go",
        }
        # A column filter aimed at a column that does not exist is just two words.
        assert store.search("n", "labels:trusted") == []


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=300))
def test_any_text_query_never_crashes(store: SqliteMemoryStore, query: str) -> None:
    code = None
    try:
        store.search("n", query)
    except AgentorError as exc:
        code = exc.code
    assert code in {None, "memory.query_invalid"}


def test_huge_records_are_refused_whole(store: SqliteMemoryStore) -> None:
    with pytest.raises(AgentorError) as info:
        store.add(new_record("n", "x" * (1024 * 1024), UNTRUSTED))
    assert info.value.code == "memory.record_too_large"
    with pytest.raises(AgentorError) as info:
        new_record("n", "x" * (5 * 1024 * 1024), UNTRUSTED)
    assert info.value.code == "memory.record_invalid"
    big_meta = {"k": "v" * (32 * 1024)}
    with pytest.raises(AgentorError) as info:
        store.add(new_record("n", "small", UNTRUSTED, metadata=big_meta))
    assert info.value.code == "memory.record_too_large"
    assert store.list() == []


UNICODE = [
    "naïve café — 日本語のテキスト",
    "emoji 🧠🔒 and ZWJ 👩‍💻",
    "right-to-left \u202eevil\u202c text",
    "nul\x00inside",
    "combining e\u0301 and ﬁ ligature",
    "\u200b\u200b zero width",
]


@pytest.mark.parametrize("text", UNICODE)
def test_unicode_round_trips_exactly(store: SqliteMemoryStore, text: str) -> None:
    record = new_record("n", text, UNTRUSTED)
    store.add(record)
    assert store.get(record.id) == record


def test_lone_surrogate_is_refused(store: SqliteMemoryStore) -> None:
    with pytest.raises(AgentorError) as info:
        store.add(new_record("n", "bad \udc80 text", UNTRUSTED))
    assert info.value.code == "memory.record_invalid"
    assert store.list() == []


@needs_fts
def test_diacritics_do_not_hide_text(tmp_path: Path) -> None:
    with SqliteMemoryStore(tmp_path / "m.db", fts=True) as store:
        store.add(new_record("n", "Meet at the Café Zoë", UNTRUSTED))
        assert len(store.search("n", "cafe zoe")) == 1


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from agentor_core.labels import Label, LabelSet, Source
    from agentor_memory import MemoryLimits, SqliteMemoryStore, new_record

    labels = LabelSet.of(Label.of(Source[sys.argv[2]]))
    limits = MemoryLimits(busy_timeout_s=60)
    with SqliteMemoryStore(Path(sys.argv[1]), limits) as store:
        for i in range(int(sys.argv[3])):
            store.add(new_record("shared", f"{sys.argv[2]} {i}", labels))
    """
)


def test_two_processes_write_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    SqliteMemoryStore(path).close()
    count = 150
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), source, str(count)])
        for source in ("USER", "UNTRUSTED_TOOL")
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    with SqliteMemoryStore(path) as store:
        records = [*store.list(limit=100), *store.search("shared", "user", limit=100)]
        everything = store.stats()
        assert everything.records == 2 * count
        # No record took another writer's labels.
        for record in records:
            source = record.text.split(" ")[0]
            assert record.labels == LabelSet.of(Label.of(Source[source]))


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\x00" * 200)


def _truncated(path: Path) -> None:
    with SqliteMemoryStore(path) as store:
        for i in range(50):
            store.add(new_record("n", f"record {i} " + "y" * 3000, UNTRUSTED))
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\xff" * 4096 + data[4196:])


def _foreign(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT)")
    db.commit()
    db.close()


def _use(path: Path) -> None:
    with SqliteMemoryStore(path) as store:
        store.add(new_record("n", "after damage", UNTRUSTED))
        store.list(limit=100)
        store.search("n", "record")


@pytest.mark.parametrize("damage", [_garbage, _truncated, _foreign])
def test_damaged_file_is_a_clear_error(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    path = tmp_path / "m.db"
    damage(path)
    with pytest.raises(AgentorError) as info:
        _use(path)
    assert info.value.code == "memory.store_corrupt"


def test_edited_labels_are_never_read_as_defaults(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with SqliteMemoryStore(path) as store:
        record = new_record("n", "from a web page", UNTRUSTED)
        store.add(record)
    db = sqlite3.connect(path)
    db.execute("UPDATE records SET labels = '{\"sources\": []'")  # cut short
    db.commit()
    db.close()
    with SqliteMemoryStore(path) as store, pytest.raises(AgentorError) as info:
        store.get(record.id)
    assert info.value.code == "memory.store_corrupt"


def test_not_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "real.db"
    SqliteMemoryStore(target).close()
    link = tmp_path / "link.db"
    link.symlink_to(target)
    for bad in (link, tmp_path):
        with pytest.raises(AgentorError) as info:
            SqliteMemoryStore(bad)
        assert info.value.code == "memory.store_unavailable"


def test_labels_survive_a_model_record_round_trip(store: SqliteMemoryStore) -> None:
    # A record built by hand with trusted labels keeps them; one with untrusted keeps those.
    for labels in (TRUSTED, UNTRUSTED):
        record = MemoryRecord.model_validate(
            {
                "id": f"id-{labels.trust}",
                "namespace": "n",
                "text": "x",
                "labels": labels.model_dump(mode="json"),
                "created_at": "2026-11-28T00:00:00+00:00",
            }
        )
        store.add(record)
        got = store.get(record.id)
        assert got is not None
        assert got.labels == labels


def test_limits_bound_the_record_count(tmp_path: Path) -> None:
    limits = MemoryLimits(max_records_per_namespace=10)
    with SqliteMemoryStore(tmp_path / "m.db", limits) as store:
        for i in range(200):
            store.add(new_record("n", f"flood {i}", UNTRUSTED))
        stats = store.stats()
        assert stats.records == 10
        assert stats.evicted == 190
