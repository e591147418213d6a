"""Operator patterns run bounded in time, with Python ``re``'s meaning.

A catastrophic pattern against a hostile argument gives a decision (deny or
ask, never allow) instead of holding the host; every other pattern decides
exactly as ``re`` would.
"""

from __future__ import annotations

import re
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolCall
from agentor_policy import PolicyCode, compile_text
from agentor_policy.patterns import Outcome, bounded, translate

NOW = PolicyContext(now=datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = str(PolicyCode.PATTERN_TIMEOUT)

# Exponential (or worse) for a backtracking engine, the bounded one included: each
# runs past its bound on this input, on any machine.
CATASTROPHIC = [
    ("^(a|a)*$", "a" * 100 + "!"),
    ("^(a|aa)+$", "a" * 200 + "!"),
    ("^(([a-z])+.)+[A-Z]([a-z])+$", "a" * 5_000 + "!"),
]
# Catastrophic for Python's re; the bounded engine may finish some early (it prunes
# some backtracking) or run past its bound: either way the call is not allowed.
HOSTILE = [
    *CATASTROPHIC,
    ("(a+)+$", "a" * 50_000 + "!"),
    ("(x|x)*y", "x" * 50_000),
    (r"^(\w+\s?)*$", "word " * 10_000 + "!"),
    ("(.*a){20}", "a" * 19 + "b" * 5_000),
]


def toml_string(value: str) -> str:
    return "'" + value + "'"


def decide(policy: str, arguments: dict[str, Any], tool: str = "t") -> tuple[str, str, str]:
    compiled = compile_text(policy)
    decision = compiled.decide(ToolCall(id="c", tool=tool, arguments=arguments), NOW)
    return decision.verdict.value, decision.rule_id, decision.reason


def constraint_policy(pattern: str) -> str:
    return (
        "version = 1\n[[tool]]\nid = 'send'\nname = 't'\n"
        f"[tool.args.to]\ntype = 'string'\npattern = {toml_string(pattern)}\n"
    )


@pytest.mark.parametrize(("pattern", "hostile"), CATASTROPHIC)
def test_catastrophic_argument_pattern_denies_naming_the_timeout(
    pattern: str, hostile: str
) -> None:
    verdict, rule_id, reason = decide(constraint_policy(pattern), {"to": hostile})
    assert (verdict, rule_id) == ("deny", "send.args.to")
    assert TIMEOUT in reason
    assert "counts as not matching" in reason


@pytest.mark.parametrize(("pattern", "hostile"), HOSTILE)
def test_hostile_arguments_never_pass(pattern: str, hostile: str) -> None:
    deny = (
        "version = 1\n[[deny]]\nid = 'd'\nname = 't'\n"
        f"[[deny.when]]\narg = 'body'\nmatches = {toml_string(pattern)}\n"
        "[[tool]]\nid = 'send'\nname = 't'\nstrict_args = false\n"
    )
    # None of these values matches (re would say so, given the time): a constraint
    # refuses it either way; a condition lets it through only if it finished in time.
    assert decide(constraint_policy(pattern), {"to": hostile})[:2] == ("deny", "send.args.to")
    verdict, _, reason = decide(deny, {"body": hostile})
    assert verdict == "allow" or (verdict == "deny" and TIMEOUT in reason)


@pytest.mark.parametrize(("pattern", "hostile"), CATASTROPHIC)
def test_catastrophic_deny_condition_holds(pattern: str, hostile: str) -> None:
    policy = (
        "version = 1\n[[deny]]\nid = 'no-secrets'\nname = 't'\nreason = 'looks like a secret'\n"
        f"[[deny.when]]\narg = 'body'\nmatches = {toml_string(pattern)}\n"
        "[[tool]]\nid = 'send'\nname = 't'\nstrict_args = false\n"
    )
    verdict, rule_id, reason = decide(policy, {"body": hostile})
    assert (verdict, rule_id) == ("deny", "no-secrets")
    assert reason.startswith("looks like a secret")
    assert TIMEOUT in reason


@pytest.mark.parametrize(("pattern", "hostile"), CATASTROPHIC)
def test_catastrophic_ask_condition_asks(pattern: str, hostile: str) -> None:
    policy = (
        "version = 1\n[[tool]]\nid = 'send'\nname = 't'\nstrict_args = false\n"
        "approval = 'when'\n"
        f"[[tool.ask_when]]\narg = 'body'\nmatches = {toml_string(pattern)}\n"
    )
    verdict, rule_id, reason = decide(policy, {"body": hostile})
    assert (verdict, rule_id) == ("ask", "send.approval")
    assert TIMEOUT in reason


def test_a_condition_whose_other_tests_fail_is_not_run_into_a_deny() -> None:
    # The pattern is the last test of a condition: when another test already says
    # no, the condition does not hold whatever the pattern would do.
    pattern, hostile = CATASTROPHIC[0]
    policy = (
        "version = 1\n[[deny]]\nid = 'd'\nname = 't'\n"
        f"[[deny.when]]\narg = 'body'\nequals = 'x'\nmatches = {toml_string(pattern)}\n"
        "[[tool]]\nid = 'send'\nname = 't'\nstrict_args = false\n"
    )
    assert decide(policy, {"body": hostile})[0] == "allow"


def test_explain_names_the_timeout_step() -> None:
    pattern, hostile = CATASTROPHIC[0]
    policy = (
        "version = 1\n[[deny]]\nid = 'd'\nname = 't'\n"
        f"[[deny.when]]\narg = 'body'\nmatches = {toml_string(pattern)}\n"
        "[[tool]]\nid = 'send'\nname = 't'\nstrict_args = false\n"
    )
    call = ToolCall(id="c", tool="t", arguments={"body": hostile})
    decision, steps = compile_text(policy).explain(call, NOW)
    assert decision.verdict is Verdict.DENY
    assert any("deny rule 'd' matches" in step and TIMEOUT in step for step in steps)


@pytest.mark.parametrize(
    ("pattern", "value", "allowed"),
    [
        ("[a-z]+", "hello", True),
        ("[a-z]+", "Hello", False),
        (r"[^@\s]+@[^@\s]+", "ann@example.com", True),
        (r"[^@\s]+@[^@\s]+", "ann\x1c@example.com", False),  # \x1c is whitespace to re
        (r"\w+", "x²", True),  # '²' is a word character to re, not to Unicode
        (r"\w+", "e\u0301", False),  # a combining mark is not, to re
        ("a{e<=1}", "a{e<=1}", True),  # a literal brace to re, not fuzzy matching
        ("a{e<=1}", "b", False),
        ("a{,2}", "aa", True),
        (r"x\B", "x", False),
        (r"(?x) a \s # a comment with [ and \w", "a ", True),
        (r"(?#[)\d", "٣", True),
    ],
)
def test_ordinary_patterns_decide_as_re_does(pattern: str, value: str, allowed: bool) -> None:
    assert (re.fullmatch(pattern, value) is not None) is allowed
    verdict, rule_id, reason = decide(constraint_policy(pattern), {"to": value})
    assert verdict == ("allow" if allowed else "deny")
    if not allowed:
        assert (rule_id, reason) == (
            "send.args.to",
            "argument 'to' does not match the required pattern",
        )


@pytest.mark.parametrize("pattern", ["(?i)abc", "a(?i:b)c", "(?ix)a b"])
def test_case_insensitive_patterns_are_refused_at_load(pattern: str) -> None:
    with pytest.raises(AgentorError) as info:
        compile_text(constraint_policy(pattern))
    assert info.value.code == PolicyCode.INVALID
    assert "case-insensitive" in info.value.message


@pytest.mark.parametrize("flags", ["", "(?a)"])
def test_shorthand_sets_equal_re_on_every_code_point(flags: str) -> None:
    universe = "".join(map(chr, range(sys.maxunicode + 1)))
    for shorthand in ("w", "s", "d"):
        pattern = flags + "\\" + shorthand + "+"
        ours = [m.span() for m in bounded(pattern).compiled.finditer(universe)]
        assert ours == [m.span() for m in re.finditer(pattern, universe)], pattern
    # The complements, on the Basic Multilingual Plane (the full range is slow to scan).
    plane = universe[:0x10000]
    for shorthand in ("W", "S", "D"):
        pattern = flags + "\\" + shorthand + "+"
        ours = [m.span() for m in bounded(pattern).compiled.finditer(plane)]
        assert ours == [m.span() for m in re.finditer(pattern, plane)], pattern


def _repository_patterns() -> list[str]:
    """Every ``pattern`` and ``matches`` in the repository's example policies."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"pattern", "matches"} and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted((ROOT / "examples").rglob("*.toml")):
        walk(tomllib.loads(path.read_text(encoding="utf-8")))
    return sorted(found)


REPOSITORY = _repository_patterns()
# Constructs a policy may use, each near a place where the engines could differ.
CONSTRUCTS = [
    "[a-z]+",
    r"\w+",
    r"\W+",
    r"\s+",
    r"\S*",
    r"\d+",
    r"\D",
    r"[\w-]+",
    r"[^\w]",
    r"[\s\d]",
    r"[^\W\d]+",
    r"\b\w",
    r"\B",
    r"x\B",
    r"\bx\b",
    r"(?a)\w+",
    r"(?a:\s)\s",
    r"(?a)\b",
    "a{e<=1}",
    "a{,}",
    "a{}",
    "a{,2}x",
    "x{2,}",
    r"(?x) a \s # c [ \n \w",
    "(?x)[ #]",
    r"(?#[)\w",
    "^$",
    "(?m)^a$",
    "(?s).+",
    ".+",
    r"\Z",
    r"\A\w",
    r"(\w)\1",
    r"(?P<n>\w)(?P=n)",
    "[]a]",
    "[^]]",
    r"[\b]",
    r"\x41",
    r"\N{DIGIT ONE}",
    r"(?:a|\d)+",
    r"(?<=\s)x",
    r"(?<!\w)a",
    r"(a)?(?(1)\w|\s)",
    "(?>a+)a",
    "a++",
    r"[\]]",
    r"\{",
    "(?x)a{1, 2}",
    "a{1}{",
    "(?u)\\w",
    r"[^@\s]+@[^@\s]+",
    r"@(?!example\.com$)",
]
# Characters near the differences: C0 separators, Unicode spaces, digits and letters
# outside ASCII, combining marks, letters newer than Python 3.11's Unicode, surrogates.
TRICKY = (
    "aAxkK_@.-/ 09{}e<=1[]\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000²\u0301İ\u0131\u017f\u212aßé٣"
    "\U00010d40\U00011f00\ud800"
)
VALUES = st.text(alphabet=st.sampled_from(TRICKY), max_size=12) | st.text(max_size=12)


def test_the_repository_has_patterns_to_compare() -> None:
    assert REPOSITORY, "examples/ holds policies with patterns"


@pytest.mark.parametrize("pattern", sorted(set(REPOSITORY) | set(CONSTRUCTS)))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bounded_engine_agrees_with_re(pattern: str, data: st.DataObject) -> None:
    ours = bounded(pattern)
    theirs = re.compile(pattern)
    value = data.draw(VALUES | st.from_regex(theirs), label="value")
    assert (ours.fullmatch(value) is Outcome.MATCH) is (theirs.fullmatch(value) is not None)
    assert (ours.search(value) is Outcome.MATCH) is (theirs.search(value) is not None)


def test_translation_leaves_plain_patterns_alone() -> None:
    for pattern in ("[A-Za-z0-9_.*?\\-/]+", "@(?!example\\.com$)", "a{1,3}b", "x{2}"):
        assert translate(pattern) == pattern
