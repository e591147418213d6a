"""[tool.output] declarations, embedded destinations, the lethal trifecta over every argument."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.tools import ToolCall
from agentor_policy import compile_text

NOW = PolicyContext(now=datetime(2026, 11, 28, tzinfo=UTC))
USER = LabelSet.of(Label.of(Source.USER))
DOC = LabelSet.of(Label.of(Source.UNTRUSTED_TOOL))
SECRET = LabelSet.of(Label.of(Source.TRUSTED_TOOL, private=True))

POLICY = compile_text(
    """
version = 1
[flow]
untrusted_to_sink = "ask"
lethal_trifecta = "deny"

[[tool]]
id = "transactions"
name = "get_transactions"
[tool.output]
system_fields = ["id", "sender", "$"]

[[tool]]
id = "profile"
name = "get_profile"
[tool.output]
private = true

[[tool]]
id = "dm"
name = "send_dm"
strict_args = false
[tool.sink]
args = ["recipient"]
embedded = ["body"]
"""
)


def call(tool: str, arguments: dict[str, object], **extra: object) -> ToolCall:
    return ToolCall(id="c", tool=tool, arguments=arguments, **extra)  # type: ignore[arg-type]


def test_output_declarations_reach_the_obligations() -> None:
    decision = POLICY.decide(call("get_transactions", {}), NOW)
    assert decision.verdict is Verdict.ALLOW
    assert decision.obligations.system_fields == ("id", "sender", "$")
    assert not decision.obligations.private_output
    assert POLICY.decide(call("get_profile", {}), NOW).obligations.private_output


def test_untrusted_link_in_a_body_is_a_sink() -> None:
    arguments = {"recipient": "Alice", "body": "see www.phish.example"}
    labels = {"recipient": USER, "body": USER}
    asked = POLICY.decide(
        call("send_dm", arguments, labels=labels, embedded_labels={"body": DOC}), NOW
    )
    assert asked.verdict is Verdict.ASK
    allowed = POLICY.decide(
        call("send_dm", arguments, labels=labels, embedded_labels={"body": USER}), NOW
    )
    assert allowed.verdict is Verdict.ALLOW
    # A body without links is not a sink, whatever its text's provenance.
    plain = POLICY.decide(
        call(
            "send_dm", {"recipient": "Alice", "body": "hi"}, labels={"recipient": USER, "body": DOC}
        ),
        NOW,
    )
    assert plain.verdict is Verdict.ALLOW


def test_private_data_in_any_argument_of_an_external_sink_is_the_trifecta() -> None:
    decided = POLICY.decide(
        call(
            "send_dm",
            {"recipient": "Alice", "body": "passport X1234567"},
            labels={"recipient": USER, "body": SECRET},
            context_labels=DOC,
        ),
        NOW,
    )
    assert decided.verdict is Verdict.DENY
    assert decided.rule_id == "flow.lethal_trifecta"


def test_embedded_labels_must_name_arguments() -> None:
    with pytest.raises(ValueError, match="not in the call"):
        call("send_dm", {"body": "x"}, embedded_labels={"other": DOC})


@pytest.mark.parametrize(
    "text",
    [
        'version = 1\n[[tool]]\nid = "t"\nname = "t"\n[tool.output]\nsystem_fields = ["*"]\n',
        'version = 1\n[[tool]]\nid = "t"\nname = "t"\n[tool.output]\nfields = ["id"]\n',
        'version = 1\n[[tool]]\nid = "t"\nname = "t"\n[tool.output]\nprivate = "yes"\n',
    ],
)
def test_bad_output_declarations_are_refused(text: str) -> None:
    with pytest.raises(AgentorError) as caught:
        compile_text(text)
    assert caught.value.code == "policy.invalid"


LINKS_ONLY = """
version = 1
[[tool]]
id = "answer"
name = "agent.answer"
[tool.args.text]
type = "string"
[tool.sink]
args = []
embedded = ["text"]
external = false
"""


def test_a_sink_may_be_its_links_alone() -> None:
    # The answer's reader is fixed (the user): only the links written in it are destinations.
    policy = compile_text(LINKS_ONLY)
    text = {"text": "book it at www.phish.example"}
    untrusted_text = {"text": DOC}
    asked = policy.decide(
        call("agent.answer", text, labels=untrusted_text, embedded_labels={"text": DOC}), NOW
    )
    assert asked.verdict is Verdict.ASK
    allowed = policy.decide(
        call("agent.answer", text, labels=untrusted_text, embedded_labels={"text": USER}), NOW
    )
    assert allowed.verdict is Verdict.ALLOW
    plain = policy.decide(call("agent.answer", {"text": "fine"}, labels=untrusted_text), NOW)
    assert plain.verdict is Verdict.ALLOW


def test_a_sink_must_name_something() -> None:
    with pytest.raises(AgentorError) as refused:
        compile_text(LINKS_ONLY.replace('embedded = ["text"]\n', ""))
    assert refused.value.code == "policy.invalid"
    assert "a sink needs args" in refused.value.message
