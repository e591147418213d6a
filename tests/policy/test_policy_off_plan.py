"""Control flow: calls outside the agent's declared plan (``ToolCall.off_plan``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.tools import ToolCall
from agentor_policy import OFF_PLAN, UNTRUSTED_TO_SINK, compile_text

NOW = PolicyContext(now=datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
USER = LabelSet.of(Label.of(Source.USER))
TOOL = LabelSet.of(Label.of(Source.UNTRUSTED_TOOL))

POLICY = """
version = 1
{flow}

[[tool]]
id = "read"
name = "read_inbox"
strict_args = false

[[tool]]
id = "watched-read"
name = "read_secrets"
strict_args = false
off_plan = "deny"

[[tool]]
id = "event"
name = "create_event"
strict_args = false
[tool.sink]
args = ["participants"]

[[tool]]
id = "mail"
name = "send_email"
strict_args = false
off_plan = "allow"
[tool.sink]
args = ["to"]

[[tool]]
id = "file"
name = "create_file"
strict_args = false
off_plan = "ask"

[[tool]]
id = "always"
name = "pay"
strict_args = false
approval = "always"
[tool.sink]
args = ["iban"]
"""


def call(tool: str, *, off_plan: bool, **arguments: object) -> ToolCall:
    return ToolCall(
        id="c1",
        tool=tool,
        arguments=dict(arguments),
        labels=dict.fromkeys(arguments, USER),
        context_labels=TOOL,
        off_plan=off_plan,
    )


def decide(flow: str, the_call: ToolCall) -> tuple[Verdict, str]:
    decision = compile_text(POLICY.format(flow=flow)).decide(the_call, NOW)
    return decision.verdict, decision.rule_id


@pytest.mark.parametrize(
    ("tool", "flow", "expected"),
    [
        # The default: a tool with a sink asks; a read stays free.
        ("create_event", "", (Verdict.ASK, OFF_PLAN)),
        ("read_inbox", "", (Verdict.ALLOW, "read")),
        ("create_event", '[flow]\noff_plan = "deny"', (Verdict.DENY, OFF_PLAN)),
        ("create_event", '[flow]\noff_plan = "allow"', (Verdict.ALLOW, "event")),
        # Per-tool overrides, with or without a sink.
        ("send_email", "", (Verdict.ALLOW, "mail")),
        ("create_file", "", (Verdict.ASK, OFF_PLAN)),
        ("read_secrets", "", (Verdict.DENY, OFF_PLAN)),
        ("read_secrets", '[flow]\noff_plan = "allow"', (Verdict.DENY, OFF_PLAN)),
    ],
)
def test_off_plan_calls(tool: str, flow: str, expected: tuple[Verdict, str]) -> None:
    assert decide(flow, call(tool, off_plan=True, participants="bob", to="bob")) == expected


@pytest.mark.parametrize("tool", ["create_event", "send_email", "create_file", "read_secrets"])
def test_on_plan_calls_are_not_affected(tool: str) -> None:
    verdict, _rule = decide("", call(tool, off_plan=False, participants="bob", to="bob"))
    assert verdict is Verdict.ALLOW


def test_data_flow_is_checked_before_control_flow() -> None:
    untrusted = ToolCall(
        id="c1",
        tool="create_event",
        arguments={"participants": "eve"},
        labels={"participants": TOOL},
        context_labels=TOOL,
        off_plan=True,
    )
    assert decide('[flow]\nuntrusted_to_sink = "ask"', untrusted) == (
        Verdict.ASK,
        UNTRUSTED_TO_SINK,
    )
    # A deny for being off plan wins over an ask for the data.
    assert decide('[flow]\noff_plan = "deny"', untrusted) == (Verdict.DENY, OFF_PLAN)


def test_off_plan_ask_comes_before_the_rules_own_approval() -> None:
    assert decide("", call("pay", off_plan=True, iban="X")) == (Verdict.ASK, OFF_PLAN)
    assert decide("", call("pay", off_plan=False, iban="X")) == (Verdict.ASK, "always.approval")


def test_explain_names_the_plan_step() -> None:
    policy = compile_text(POLICY.format(flow=""))
    decision, trace = policy.explain(call("create_event", off_plan=True, participants="b"), NOW)
    assert decision.verdict is Verdict.ASK
    assert any("outside the agent's declared plan: ask" in line for line in trace)
    assert "did not declare this tool" in decision.reason


def test_bad_off_plan_values_are_refused() -> None:
    with pytest.raises(AgentorError) as raised:
        compile_text('version = 1\n[flow]\noff_plan = "maybe"\n')
    assert raised.value.code == "policy.invalid"
