"""ReDoS through an operator's pattern: the model picks the argument, the host must answer.

Each operator pattern here would hold a CPU for longer than the age of the
universe on Python's re with the argument given. The engine answers with a deny
or an ask, never an allow, and syntax that means something else to the bounded
engine than to re is refused when the policy loads.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from agentor_core.bounds import MAX_JSON_STRING_CHARS
from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolCall
from agentor_policy import PolicyCode, compile_text

NOW = PolicyContext(now=datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
TIMEOUT = str(PolicyCode.PATTERN_TIMEOUT)
HEAD = "version = 1\n"


def call(arguments: dict[str, object]) -> ToolCall:
    return ToolCall(id="c", tool="send", arguments=arguments)


def test_longest_hostile_string_is_cut_off() -> None:
    # The longest string a call may carry, against a pattern exponential in its length.
    hostile = "a" * (MAX_JSON_STRING_CHARS - 1) + "!"
    policy = compile_text(
        HEAD + "[[tool]]\nid = 'send'\nname = 'send'\n[tool.args.to]\npattern = '^(a|a)*$'\n"
    )
    decision = policy.decide(call({"to": hostile}), NOW)
    assert (decision.verdict, decision.rule_id) == (Verdict.DENY, "send.args.to")
    assert TIMEOUT in decision.reason


def test_every_hostile_argument_of_one_call_is_judged() -> None:
    # Three constrained arguments, the last one hostile: the first two pass, the third
    # is cut off and refuses the call.
    policy = compile_text(
        HEAD
        + "[[tool]]\nid = 'send'\nname = 'send'\n"
        + "[tool.args.a]\npattern = '[a-z]+'\n"
        + "[tool.args.b]\npattern = '[0-9]+'\n"
        + "[tool.args.c]\npattern = '^(a|aa)+$'\n"
    )
    decision = policy.decide(call({"a": "ok", "b": "42", "c": "a" * 300 + "!"}), NOW)
    assert (decision.verdict, decision.rule_id) == (Verdict.DENY, "send.args.c")
    assert TIMEOUT in decision.reason


def test_deny_rules_after_a_timed_out_one_are_not_needed() -> None:
    policy = compile_text(
        HEAD
        + "[[deny]]\nid = 'first'\nname = 'send'\n[[deny.when]]\narg = 'x'\nequals = 'never'\n"
        + "[[deny]]\nid = 'second'\nname = 'send'\n[[deny.when]]\narg = 'x'\n"
        + "matches = '^(a|a)*$'\n"
        + "[[tool]]\nid = 'send'\nname = 'send'\nstrict_args = false\n"
    )
    decision = policy.decide(call({"x": "a" * 100 + "!"}), NOW)
    assert (decision.verdict, decision.rule_id) == (Verdict.DENY, "second")
    assert TIMEOUT in decision.reason


def test_an_ask_that_times_out_asks_and_explain_says_why() -> None:
    policy = compile_text(
        HEAD
        + "[[tool]]\nid = 'send'\nname = 'send'\nstrict_args = false\napproval = 'when'\n"
        + "[[tool.ask_when]]\narg = 'body'\nmatches = '^(a|aa)+$'\n"
    )
    decision, steps = policy.explain(call({"body": "a" * 300 + "!"}), NOW)
    assert (decision.verdict, decision.rule_id) == (Verdict.ASK, "send.approval")
    assert any("a person must approve" in step and TIMEOUT in step for step in steps)
    # An ordinary body is not asked about.
    assert policy.decide(call({"body": "hello"}), NOW).verdict is Verdict.ALLOW


@pytest.mark.parametrize("value", [["a" * 100 + "!"], {"k": "a" * 100}, 7, None, True])
def test_non_strings_never_reach_the_pattern(value: object) -> None:
    policy = compile_text(
        HEAD + "[[tool]]\nid = 'send'\nname = 'send'\n[tool.args.to]\npattern = '^(a|a)*$'\n"
    )
    decision = policy.decide(call({"to": value}), NOW)
    assert decision.verdict is Verdict.DENY
    assert decision.reason == "argument 'to' does not match the required pattern"


@pytest.mark.parametrize(
    "pattern",
    [
        r"\p{L}+",  # a Unicode property: regex only
        "(?V1)a",  # regex's version 1 syntax
        "(?r)a",  # reverse matching
        "(?f)a",  # full case folding
        "(?w)a",  # Unicode word boundaries
        "(?|a)",  # branch reset
        "(?<name>a)",  # a group name syntax re does not read
        r"a\Kb",  # keep out
        r"\X",  # grapheme
        r"\G",  # search anchor
        "[[:alpha:]]",  # a POSIX class in regex, a nested set warning in re
        "[a--b]",  # set difference in regex version 1
        "(?(DEFINE)a)",  # subroutine definitions
        "(?0)",  # recursion
        "(?i)admin",  # case folding differs between the engines
    ],
)
def test_syntax_that_differs_between_engines_is_refused(pattern: str) -> None:
    with pytest.raises(AgentorError) as info:
        compile_text(
            HEAD
            + "[[tool]]\nid = 'send'\nname = 'send'\n[tool.args.to]\n"
            + f"pattern = '{pattern}'\n"
        )
    assert info.value.code == PolicyCode.INVALID
    assert info.value.hint


@pytest.mark.parametrize(
    ("pattern", "needle"),
    [
        ("a{4294967295}", "repeat count"),  # re raises OverflowError, not re.error
        ("a{9999999}", "too large once its repeats are expanded"),  # gigabytes in regex
        (r"(?:\w{100}){100}", "too large once its repeats are expanded"),  # 0.7 GB in regex
        ("(?:(?:(?:a{1000}){1000}){1000}){1000}", "too large once its repeats are expanded"),
    ],
)
def test_patterns_too_large_to_compile_are_refused(pattern: str, needle: str) -> None:
    with pytest.raises(AgentorError) as info:
        compile_text(
            HEAD
            + "[[tool]]\nid = 'send'\nname = 'send'\n[tool.args.to]\n"
            + f"pattern = '{pattern}'\n"
        )
    assert info.value.code == PolicyCode.INVALID
    assert needle in info.value.message


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        (r"\w{1,10000}", "ab"),
        (r"[\w.-]{1,253}", "a.b-c"),
        (r"\w{256}", "x" * 256),
        ("a{99999}", "a" * 99999),
    ],
)
def test_large_but_cheap_repeats_load_and_decide(pattern: str, value: str) -> None:
    assert re.fullmatch(pattern, value) is not None
    policy = compile_text(
        HEAD + f"[[tool]]\nid = 'send'\nname = 'send'\n[tool.args.to]\npattern = '{pattern}'\n"
    )
    assert policy.decide(call({"to": value}), NOW).verdict is Verdict.ALLOW
    assert policy.decide(call({"to": value + "!"}), NOW).verdict is Verdict.DENY


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("a{1,2}{e<=1}", "aa{e<=1}"),  # fuzzy matching in regex, literal braces in re
        ("a{e<=1}", "a{e<=1}"),
        ("x{,}", "xxx"),
    ],
)
def test_braces_keep_their_re_meaning(pattern: str, value: str) -> None:
    assert re.fullmatch(pattern, value) is not None
    policy = compile_text(
        HEAD + f"[[tool]]\nid = 'send'\nname = 'send'\n[tool.args.to]\npattern = '{pattern}'\n"
    )
    assert policy.decide(call({"to": value}), NOW).verdict is Verdict.ALLOW
    assert policy.decide(call({"to": "b"}), NOW).verdict is Verdict.DENY
