"""The SQLite store and the in-memory store: labels intact, bounds, retention, codes."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentor_core.discovery import create
from agentor_core.errors import AgentorError
from agentor_core.interfaces import MemoryStore
from agentor_core.labels import Label, LabelSet, Source
from agentor_memory import (
    InMemoryStore,
    MemoryLimits,
    SqliteMemoryStore,
    create_memory_store,
    fts5_available,
    new_record,
)

UNTRUSTED = LabelSet.of(Label.of(Source.UNTRUSTED_TOOL))
PRIVATE_USER = LabelSet.of(Label.of(Source.USER, private=True))
MIXED = LabelSet.of(Label.of(Source.USER), Label.of(Source.DOCUMENT))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


Factory = Callable[..., MemoryStore]


@pytest.fixture(params=["sqlite-fts5", "sqlite-like", "memory"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    opened: list[object] = []

    def factory(limits: MemoryLimits | None = None, clock: Clock | None = None) -> MemoryStore:
        kwargs = {"clock": clock} if clock is not None else {}
        if request.param == "memory":
            store: MemoryStore = InMemoryStore(limits, **kwargs)
        else:
            fts = request.param == "sqlite-fts5"
            if fts and not fts5_available():
                pytest.skip("this Python's SQLite has no FTS5")
            store = SqliteMemoryStore(tmp_path / f"m{len(opened)}.db", limits, fts=fts, **kwargs)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()  # type: ignore[attr-defined]


def test_labels_come_back_exactly_as_written(make: Factory) -> None:
    store = make()
    for labels in (UNTRUSTED, PRIVATE_USER, MIXED, LabelSet()):
        record = new_record("notes", f"text with labels {labels.trust}", labels)
        store.add(record)
        got = store.get(record.id)
        assert got == record
        assert got is not None
        assert got.labels == labels
    found = store.search("notes", "labels", limit=10)
    assert {r.labels for r in found} == {UNTRUSTED, PRIVATE_USER, MIXED, LabelSet()}
    assert not next(r for r in found if r.labels == UNTRUSTED).labels.is_trusted


def test_search_finds_words_in_one_namespace_only(make: Factory) -> None:
    store = make()
    store.add(new_record("alice", "The meeting with Bob is on Friday", PRIVATE_USER))
    store.add(new_record("alice", "Groceries: milk, eggs", PRIVATE_USER))
    store.add(new_record("bob", "Friday is a holiday", UNTRUSTED))
    hits = store.search("alice", "friday meeting")
    assert [r.text for r in hits] == ["The meeting with Bob is on Friday"]
    assert [r.namespace for r in store.search("bob", "FRIDAY")] == ["bob"]
    assert store.search("carol", "friday") == []


def test_empty_query_gives_the_newest(make: Factory) -> None:
    store = make()
    for i in range(5):
        store.add(new_record("n", f"note {i}", UNTRUSTED))
    assert [r.text for r in store.search("n", "  !!  ", limit=2)] == ["note 4", "note 3"]


def test_delete_and_get(make: Factory) -> None:
    store = make()
    record = new_record("n", "forget me", UNTRUSTED)
    store.add(record)
    assert store.delete(record.id) is True
    assert store.delete(record.id) is False
    assert store.get(record.id) is None
    assert store.search("n", "forget") == []


def test_duplicate_id_is_refused(make: Factory) -> None:
    store = make()
    record = new_record("n", "once", UNTRUSTED)
    store.add(record)
    with pytest.raises(AgentorError) as info:
        store.add(record)
    assert info.value.code == "memory.record_invalid"


def test_retention_by_count_evicts_oldest_and_counts(make: Factory) -> None:
    store = make(MemoryLimits(max_records_per_namespace=3))
    for i in range(5):
        store.add(new_record("n", f"item {i}", UNTRUSTED))
    store.add(new_record("other", "item x", UNTRUSTED))
    assert [r.text for r in store.list("n")] == ["item 4", "item 3", "item 2"]  # type: ignore[attr-defined]
    stats = store.stats()  # type: ignore[attr-defined]
    assert stats.evicted == 2
    assert {(ns.name, ns.records, ns.evicted) for ns in stats.namespaces} == {
        ("n", 3, 2),
        ("other", 1, 0),
    }


def test_retention_by_age(make: Factory) -> None:
    clock = Clock()
    store = make(MemoryLimits(max_age_s=3600), clock)
    old = new_record("n", "old news", UNTRUSTED, clock=clock)
    store.add(old)
    clock.now += timedelta(hours=2)
    assert store.get(old.id) is None  # expired: never returned, even before eviction
    assert store.search("n", "news") == []
    store.add(new_record("n", "fresh news", UNTRUSTED, clock=clock))
    assert [r.text for r in store.search("n", "news")] == ["fresh news"]
    assert store.stats().evicted == 1  # type: ignore[attr-defined]


def test_bounds(make: Factory) -> None:
    store = make(MemoryLimits(max_text_bytes=10, max_query_chars=20, max_query_terms=3))
    with pytest.raises(AgentorError) as info:
        store.add(new_record("n", "é" * 6, UNTRUSTED))  # 12 bytes
    assert info.value.code == "memory.record_too_large"
    with pytest.raises(AgentorError) as info:
        store.search("n", "x" * 21)
    assert info.value.code == "memory.query_invalid"
    with pytest.raises(AgentorError) as info:
        store.search("n", "a b c d")
    assert info.value.code == "memory.query_invalid"
    with pytest.raises(AgentorError) as info:
        store.search("n", "a", limit=10_000)
    assert info.value.code == "memory.query_invalid"
    for bad in ("", ".hidden", "a b", "x" * 129, "ns\n"):
        with pytest.raises(AgentorError) as info:
            store.search(bad, "a")
        assert info.value.code == "memory.namespace_invalid"


def test_purge(make: Factory) -> None:
    store = make()
    for ns in ("a", "a", "b"):
        store.add(new_record(ns, "x", UNTRUSTED))
    assert store.purge("a") == 2  # type: ignore[attr-defined]
    assert store.purge() == 1  # type: ignore[attr-defined]
    assert store.list() == []  # type: ignore[attr-defined]


def test_file_is_private_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "memory.db"
    with SqliteMemoryStore(path) as store:
        store.add(new_record("n", "secret plans", PRIVATE_USER))
        for side in ("-wal", "-shm"):
            assert stat.S_IMODE(path.with_name(path.name + side).stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)
    with SqliteMemoryStore(path) as store:
        assert [r.text for r in store.list()] == ["secret plans"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    header = path.read_bytes()[:20]
    assert header[18:20] == b"\x02\x02"  # WAL read and write versions in the header


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    record = new_record("n", "persisted", MIXED, metadata={"turn": 3})
    with SqliteMemoryStore(path) as store:
        store.add(record)
    with SqliteMemoryStore(path) as store:
        assert store.get(record.id) == record


def test_like_store_stays_like(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with SqliteMemoryStore(path, fts=False) as store:
        store.add(new_record("n", "100% sure_thing", UNTRUSTED))
        store.add(new_record("n", "1000 surething", UNTRUSTED))
    with SqliteMemoryStore(path) as store:
        assert store.search_mode == "like"
        # LIKE wildcards in the query are literal characters, not patterns.
        assert [r.text for r in store.search("n", "sure_thing")] == ["100% sure_thing"]


def test_closed_store_refuses(tmp_path: Path) -> None:
    store = SqliteMemoryStore(tmp_path / "m.db")
    store.close()
    with pytest.raises(AgentorError) as info:
        store.list()
    assert info.value.code == "memory.store_closed"


def test_size_cap_fails_closed_and_keeps_data(tmp_path: Path) -> None:
    limits = MemoryLimits(max_db_bytes=256 * 1024, max_text_bytes=60_000)
    with SqliteMemoryStore(tmp_path / "m.db", limits) as store:
        kept = 0
        error: AgentorError | None = None
        for i in range(100):
            try:
                store.add(new_record("n", f"{i} " + "z" * 50_000, UNTRUSTED))
            except AgentorError as exc:
                error = exc
                break
            kept += 1
        assert error is not None
        assert error.code == "memory.store_full"
        assert 0 < kept < 100
        assert len(store.list(limit=100)) == kept
        assert store.purge() == kept
        store.add(new_record("n", "fits again", UNTRUSTED))


def test_entry_point_and_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    store = create(MemoryStore)  # type: ignore[type-abstract]
    try:
        assert isinstance(store, SqliteMemoryStore)
        assert store.path == tmp_path / "state" / "memory" / "memory.db"
        assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    finally:
        store.close()  # type: ignore[attr-defined]
    with pytest.raises(AgentorError) as info:
        create_memory_store(path=tmp_path / "x.db", max_records_per_namespace=0)
    assert info.value.code == "memory.limits_invalid"


def test_new_record_requires_labels() -> None:
    with pytest.raises(AgentorError) as info:
        new_record("n", "x", None)  # type: ignore[arg-type]
    assert info.value.code == "memory.record_invalid"
