"""Atomic reload and discovery through the entry points."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentor_core import discovery
from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.interfaces import ApprovalChannel, PolicyEngine
from agentor_core.tools import ToolCall
from agentor_policy import PolicyCode, PolicyHolder, TerminalApprovalChannel, policy_engine

CONTEXT = PolicyContext(now=datetime(2026, 11, 27, tzinfo=UTC))
ALLOW_A = "version = 1\n[[tool]]\nid = 'a'\nname = 'a'\n"
ALLOW_B = "version = 1\n[[tool]]\nid = 'b'\nname = 'b'\n"
CALL_A = ToolCall(id="1", tool="a")
CALL_B = ToolCall(id="1", tool="b")


def test_reload_swaps_a_valid_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(ALLOW_A, encoding="utf-8")
    holder = PolicyHolder.from_file(path)
    old_hash = holder.policy_hash
    assert holder.decide(CALL_A, CONTEXT).allowed
    path.write_text(ALLOW_B, encoding="utf-8")
    result = holder.reload()
    assert result.ok
    assert result.error is None
    assert result.previous_hash == old_hash != result.policy_hash == holder.policy_hash
    assert not holder.decide(CALL_A, CONTEXT).allowed
    assert holder.decide(CALL_B, CONTEXT).allowed
    assert holder.decide(CALL_B, CONTEXT).policy_hash == holder.policy_hash


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ("version = 1\n[[tool]\n", PolicyCode.SYNTAX),
        ("version = 1\n[[tool]]\nid = 'b'\nname = 'b'\nfoo = 1\n", PolicyCode.INVALID),
        (b"\xff\xfe", PolicyCode.SYNTAX),
        (None, PolicyCode.FILE_UNREADABLE),
    ],
)
def test_bad_new_file_keeps_the_old_policy(
    tmp_path: Path, bad: str | bytes | None, code: PolicyCode
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(ALLOW_A, encoding="utf-8")
    holder = PolicyHolder.from_file(path)
    before = holder.policy_hash
    if bad is None:
        path.unlink()
    elif isinstance(bad, bytes):
        path.write_bytes(bad)
    else:
        path.write_text(bad, encoding="utf-8")
    result = holder.reload()
    assert not result.ok
    assert result.error is not None
    assert result.error.code == code
    assert str(path) in result.error.message
    assert holder.policy_hash == before == result.policy_hash
    assert holder.decide(CALL_A, CONTEXT).allowed


def test_reload_without_a_file(tmp_path: Path) -> None:
    from agentor_policy import compile_text

    holder = PolicyHolder(compile_text(ALLOW_A))
    result = holder.reload()
    assert not result.ok
    assert result.error is not None
    assert result.error.code == PolicyCode.FILE_UNREADABLE


def test_decisions_during_reloads_come_from_one_policy(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(ALLOW_A, encoding="utf-8")
    b.write_text(ALLOW_B, encoding="utf-8")
    holder = PolicyHolder.from_file(a)
    hash_a = PolicyHolder.from_file(a).policy_hash
    hashes = {hash_a, PolicyHolder.from_file(b).policy_hash}
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            for path in (b, a):
                assert holder.reload(path).ok

    thread = threading.Thread(target=flip)
    thread.start()
    try:
        for _ in range(500):
            decision = holder.decide(CALL_A, CONTEXT)
            assert decision.policy_hash in hashes
            # Allowed exactly when decided by the policy that allows 'a'.
            allows_a = decision.policy_hash == hash_a
            assert decision.allowed is allows_a
            if not allows_a:
                assert decision.verdict is Verdict.DENY
    finally:
        stop.set()
        thread.join()


def test_entry_point_factory_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(ALLOW_A, encoding="utf-8")
    monkeypatch.setenv("AGENTOR_POLICY", str(path))
    engine = discovery.load_factory(PolicyEngine, "toml")()
    assert isinstance(engine, PolicyEngine)
    assert engine.decide(CALL_A, CONTEXT).allowed
    assert policy_engine(path).policy_hash == engine.policy_hash


def test_factory_without_a_policy_file_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOR_POLICY", str(tmp_path / "missing.toml"))
    with pytest.raises(AgentorError) as info:
        policy_engine()
    assert info.value.code == PolicyCode.FILE_UNREADABLE


def test_terminal_channel_entry_point() -> None:
    channel = discovery.load_factory(ApprovalChannel, "terminal")()
    assert isinstance(channel, TerminalApprovalChannel)
    assert isinstance(channel, ApprovalChannel)
