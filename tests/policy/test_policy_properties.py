"""Properties of the engine, checked on generated policies and calls (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentor_core.decisions import ApprovalResponse, PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.tools import ToolCall
from agentor_policy import ApprovalLedger, CompiledPolicy, PolicyCode, approval_request
from agentor_policy.model import PolicyFile

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CONTEXT = PolicyContext(now=NOW, session_id="s")
SEVERITY = {Verdict.ALLOW: 0, Verdict.ASK: 1, Verdict.DENY: 2}
NAMES = ["a", "b", "a.x", "b.x", "c.y"]
GLOBS = ["a*", "*.x", "*", "c.?"]
ARGS = ["p", "q", "r"]

label_sets = st.sampled_from(
    [
        LabelSet(),
        LabelSet.of(Label.of(Source.USER)),
        LabelSet.of(Label.of(Source.DOCUMENT)),
        LabelSet.of(Label.of(Source.USER, private=True)),
        LabelSet.of(Label.of(Source.UNTRUSTED_TOOL, private=True)),
    ]
)
values = st.one_of(
    st.integers(-20, 20),
    st.booleans(),
    st.sampled_from(["", "x", "abc", "/data/f", "https://example.com/"]),
    st.none(),
    st.lists(st.integers(0, 3), max_size=3),
)


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["gt", "le", "equals", "untrusted", "private", "present"]))
    cond: dict[str, Any] = {"arg": draw(st.sampled_from(ARGS))}
    if kind in {"gt", "le"}:
        cond[kind] = draw(st.integers(-5, 5))
    elif kind == "equals":
        cond["equals"] = draw(st.sampled_from(["x", 1, True]))
    else:
        cond[kind] = draw(st.booleans())
    return cond


@st.composite
def matchers(draw: st.DrawFn) -> dict[str, Any]:
    how = draw(st.sampled_from(["name", "glob"]))
    return {how: draw(st.sampled_from(NAMES if how == "name" else GLOBS))}


@st.composite
def constraints(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["type"] = draw(st.sampled_from(["string", "integer", "boolean", "array", "null"]))
    if draw(st.booleans()):
        out["maximum"] = draw(st.integers(0, 10))
    if draw(st.booleans()):
        out["max_length"] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        out["required"] = True
    return out


@st.composite
def tool_rules(draw: st.DrawFn, index: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": f"t{index}", **draw(matchers())}
    rule["strict_args"] = draw(st.booleans())
    rule["args"] = {
        name: draw(constraints()) for name in draw(st.lists(st.sampled_from(ARGS), unique=True))
    }
    approval = draw(st.sampled_from(["never", "always", "when"]))
    rule["approval"] = approval
    if approval == "when":
        rule["ask_when"] = draw(st.lists(conditions(), min_size=1, max_size=2))
    if draw(st.booleans()):
        rule["sink"] = {"args": draw(st.sampled_from([["*"], ["p"], ["q", "r"]]))}
    return rule


@st.composite
def deny_rules(draw: st.DrawFn, index: int) -> dict[str, Any]:
    return {
        "id": f"d{index}",
        **draw(matchers()),
        "when": draw(st.lists(conditions(), max_size=2)),
    }


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    n_tools = draw(st.integers(0, 4))
    n_denies = draw(st.integers(0, 2))
    tools = [draw(tool_rules(i)) for i in range(n_tools)]
    # Two tool rules may not match exactly the same tools.
    unique: dict[str, dict[str, Any]] = {}
    for rule in tools:
        unique.setdefault(str(rule.get("name") or rule.get("glob")), rule)
    return {
        "version": 1,
        "flow": {
            "untrusted_to_sink": draw(st.sampled_from(["deny", "ask", "allow"])),
            "lethal_trifecta": draw(st.sampled_from(["deny", "ask", "allow"])),
        },
        "tool": list(unique.values()),
        "deny": [draw(deny_rules(i)) for i in range(n_denies)],
    }


@st.composite
def calls(draw: st.DrawFn, tools: list[str] | None = None) -> ToolCall:
    arguments = draw(st.dictionaries(st.sampled_from(ARGS), values, max_size=3))
    labelled = draw(st.lists(st.sampled_from(sorted(arguments)), unique=True)) if arguments else []
    return ToolCall(
        id="c",
        tool=draw(st.sampled_from(tools or [*NAMES, "zz", "a.x.y"])),
        arguments=arguments,
        labels={name: draw(label_sets) for name in labelled},
        context_labels=draw(label_sets),
    )


def compiled(data: dict[str, Any]) -> CompiledPolicy:
    return CompiledPolicy(PolicyFile.model_validate(data))


@given(policy=policies(), the_call=calls())
@settings(max_examples=100, deadline=None)
def test_deny_by_default(policy: dict[str, Any], the_call: ToolCall) -> None:
    """With no tool rule at all, nothing is allowed or asked."""
    policy["tool"] = []
    decision = compiled(policy).decide(the_call, CONTEXT)
    assert decision.verdict is Verdict.DENY


@given(policy=policies(), the_call=calls(tools=["unlisted.tool", "zz"]))
@settings(max_examples=100, deadline=None)
def test_unmatched_tool_is_denied(policy: dict[str, Any], the_call: ToolCall) -> None:
    policy["tool"] = [r for r in policy["tool"] if r.get("glob") != "*"]
    assert compiled(policy).decide(the_call, CONTEXT).verdict is Verdict.DENY


@given(policy=policies(), extra=deny_rules(99), the_call=calls())
@settings(max_examples=100, deadline=None)
def test_adding_a_deny_never_allows_more(
    policy: dict[str, Any], extra: dict[str, Any], the_call: ToolCall
) -> None:
    before = compiled(policy).decide(the_call, CONTEXT)
    stricter = {**policy, "deny": [*policy["deny"], extra]}
    after = compiled(stricter).decide(the_call, CONTEXT)
    assert SEVERITY[after.verdict] >= SEVERITY[before.verdict]
    if after.verdict is not Verdict.DENY:
        assert after == before.model_copy(update={"policy_hash": after.policy_hash})


@given(policy=policies(), the_call=calls())
@settings(max_examples=100, deadline=None)
def test_decisions_are_deterministic(policy: dict[str, Any], the_call: ToolCall) -> None:
    first = compiled(policy)
    second = compiled(policy)
    assert first.hash == second.hash
    decision = first.decide(the_call, CONTEXT)
    assert first.decide(the_call, CONTEXT) == decision
    assert second.decide(the_call, CONTEXT) == decision
    # The context's clock does not change a decision: time-dependent state lives elsewhere.
    later = PolicyContext(now=NOW + timedelta(days=3), session_id="other")
    assert first.decide(the_call, later) == decision
    rebuilt = ToolCall.model_validate(the_call.model_dump(mode="json"))
    assert first.decide(rebuilt, CONTEXT) == decision


@given(
    args=st.dictionaries(st.sampled_from(ARGS), values, max_size=3),
    changed=st.dictionaries(st.sampled_from(ARGS), values, max_size=3),
    other_hash=st.sampled_from([None, "c" * 64]),
)
@settings(max_examples=100, deadline=None)
def test_approvals_cannot_be_replayed(
    args: dict[str, Any], changed: dict[str, Any], other_hash: str | None
) -> None:
    approved = ToolCall(id="1", tool="mail", arguments=args, component_hash="a" * 64)
    policy = compiled(
        {
            "version": 1,
            "tool": [{"id": "m", "name": "mail", "approval": "always", "strict_args": False}],
        }
    )
    decision = policy.decide(approved, CONTEXT)
    assert decision.verdict is Verdict.ASK
    request = approval_request(approved, decision, now=NOW, ttl_seconds=60)
    ledger = ApprovalLedger()
    ledger.record(
        request,
        ApprovalResponse(
            fingerprint=request.fingerprint, approved=True, approver="op", decided_at=NOW
        ),
    )
    for variant in (
        approved.model_copy(update={"arguments": changed}),
        approved.model_copy(update={"component_hash": other_hash}),
    ):
        if variant.fingerprint() != approved.fingerprint():
            with pytest.raises(AgentorError) as info:
                ledger.consume(variant, NOW)
            assert info.value.code == PolicyCode.APPROVAL_MISSING
    assert ledger.consume(approved, NOW).approver == "op"
    with pytest.raises(AgentorError):
        ledger.consume(approved, NOW)
