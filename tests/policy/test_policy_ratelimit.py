"""Token buckets with an injected clock: no sleeping, no timing assertions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolCall
from agentor_policy import PolicyCode, PolicyHolder, RateLimiter, compile_text

POLICY = """
version = 1
[[tool]]
id = "t"
name = "t"
[tool.rate_limit]
tokens = 2
per_seconds = 10
[[tool]]
id = "s"
name = "s"
[tool.rate_limit]
tokens = 1
per_seconds = 60
scope = "session"
[[tool]]
id = "free"
name = "free"
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ctx(session: str | None = "s1") -> PolicyContext:
    return PolicyContext(now=datetime(2026, 11, 27, tzinfo=UTC), session_id=session)


def test_bucket_empties_and_refills() -> None:
    clock = Clock()
    policy = compile_text(POLICY)
    limiter = RateLimiter(policy, clock=clock)
    call = ToolCall(id="1", tool="t")
    assert limiter.admit(call, ctx()) is None
    assert limiter.admit(call, ctx()) is None
    refused = limiter.admit(call, ctx())
    assert refused is not None
    assert (refused.verdict, refused.rule_id) == (Verdict.DENY, "t.rate_limit")
    assert refused.policy_hash == policy.hash
    assert "2 call(s) per 10 s" in refused.reason
    clock.now += 4.9  # 0.98 of a token
    assert limiter.admit(call, ctx()) is not None
    clock.now += 0.2
    assert limiter.admit(call, ctx()) is None
    clock.now += 1000  # never more than the capacity
    assert limiter.admit(call, ctx()) is None
    assert limiter.admit(call, ctx()) is None
    assert limiter.admit(call, ctx()) is not None


def test_session_scope_keeps_sessions_apart() -> None:
    limiter = RateLimiter(compile_text(POLICY), clock=Clock())
    call = ToolCall(id="1", tool="s")
    assert limiter.admit(call, ctx("a")) is None
    assert limiter.admit(call, ctx("a")) is not None
    assert limiter.admit(call, ctx("b")) is None


def test_tools_without_limits_and_unknown_tools_pass() -> None:
    limiter = RateLimiter(compile_text(POLICY), clock=Clock())
    for _ in range(10):
        assert limiter.admit(ToolCall(id="1", tool="free"), ctx()) is None
        assert limiter.admit(ToolCall(id="1", tool="unknown"), ctx()) is None


def test_decide_stays_pure_while_limiter_counts() -> None:
    policy = compile_text(POLICY)
    limiter = RateLimiter(policy, clock=Clock())
    call = ToolCall(id="1", tool="t")
    first = policy.decide(call, ctx())
    for _ in range(5):
        limiter.admit(call, ctx())
    assert policy.decide(call, ctx()) == first
    assert first.allowed


def test_limiter_follows_a_reloaded_policy(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(POLICY, encoding="utf-8")
    holder = PolicyHolder.from_file(path)
    clock = Clock()
    limiter = RateLimiter(holder, clock=clock)
    call = ToolCall(id="1", tool="t")
    assert limiter.admit(call, ctx()) is None
    assert limiter.admit(call, ctx()) is None
    # The old rate would refill 0.2 tokens in a second; the new one refills 2.
    path.write_text(POLICY.replace("per_seconds = 10", "per_seconds = 1", 1), encoding="utf-8")
    assert holder.reload().ok
    clock.now += 1.0
    assert limiter.admit(call, ctx()) is None


def test_bucket_state_is_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(compile_text(POLICY), clock=clock, max_buckets=3)
    call = ToolCall(id="1", tool="s")
    for session in ("a", "b", "c"):
        assert limiter.admit(call, ctx(session)) is None
    with pytest.raises(AgentorError) as info:
        limiter.admit(call, ctx("d"))
    assert info.value.code == PolicyCode.RATE_STATE_FULL
    clock.now += 61  # every bucket has refilled, so dropping them loses nothing
    assert limiter.admit(call, ctx("d")) is None
    assert limiter.admit(call, ctx("d")) is not None
