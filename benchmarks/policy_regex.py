"""Decision latency for a policy whose rules use patterns: bounded engine vs Python re.

The policy: 20 tools, each with three argument patterns (an e-mail address, a
path-like name, an identifier with ``\\w``), a deny rule with a ``matches``
condition and an ``ask_when`` condition with ``\\b``. Calls carry ordinary
values (allowed, asked and denied).

Baseline measured in the same run: the same policy compiled with its patterns
on Python's ``re`` (unbounded, as before this change), by swapping the factory
agentor_policy.constraints uses. Batches of both are interleaved so that load
on a shared machine hits both alike; percentiles are wall clock per call, and
thread CPU time per call (median over batches) is printed too.

Usage: python benchmarks/policy_regex.py [--calls N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from agentor_core.decisions import PolicyContext
from agentor_core.tools import ToolCall
from agentor_policy import CompiledPolicy, compile_text, constraints
from agentor_policy.patterns import Outcome

TOOLS = 20
NOW = PolicyContext(now=datetime(2026, 11, 28, tzinfo=UTC))


class RePattern:
    """The baseline: the same interface on Python's re, with no bound."""

    def __init__(self, pattern: str) -> None:
        self.compiled = re.compile(pattern)

    def fullmatch(self, value: str) -> Outcome:
        return Outcome.NO_MATCH if self.compiled.fullmatch(value) is None else Outcome.MATCH

    def search(self, value: str) -> Outcome:
        return Outcome.NO_MATCH if self.compiled.search(value) is None else Outcome.MATCH


def policy_text() -> str:
    out = ["version = 1", ""]
    for i in range(TOOLS):
        out += [
            "[[deny]]",
            f'id = "foreign-{i}"',
            f'name = "tool{i}.send"',
            "[[deny.when]]",
            'arg = "to"',
            "matches = '@(?!example\\.com$)'",
            "",
            "[[tool]]",
            f'id = "tool-{i}"',
            f'name = "tool{i}.send"',
            'approval = "when"',
            "[tool.args.to]",
            "pattern = '[^@\\s]+@[^@\\s]+'",
            "[tool.args.file]",
            "pattern = '[A-Za-z0-9_.*?\\-/]+'",
            "[tool.args.ref]",
            "pattern = '\\w{2,32}'",
            "[tool.args.body]",
            'type = "string"',
            "[[tool.ask_when]]",
            'arg = "body"',
            "matches = '\\bpassword\\b'",
            "",
        ]
    return "\n".join(out)


def calls() -> list[ToolCall]:
    bodies = [
        "Hello, the report is attached; see you on Monday.",
        "Here is the password for the share.",
        "Quarterly numbers, first draft, for review." * 4,
    ]
    out = []
    for i in range(TOOLS * 6):
        to = "ann@example.com" if i % 5 else "eve@elsewhere.test"
        arguments: dict[str, Any] = {
            "to": to,
            "file": f"reports/q{i % 4}/summary-{i}.pdf",
            "ref": f"ticket_{i}",
            "body": bodies[i % len(bodies)],
        }
        out.append(ToolCall(id=f"c{i}", tool=f"tool{i % TOOLS}.send", arguments=arguments))
    return out


def compile_with_re(text: str) -> CompiledPolicy:
    original = constraints.bounded
    constraints.bounded = RePattern  # type: ignore[assignment]
    try:
        return compile_text(text)
    finally:
        constraints.bounded = original


def batch(policy: CompiledPolicy, work: list[ToolCall]) -> tuple[list[float], float]:
    samples = []
    cpu = time.thread_time()
    for call in work:
        start = time.perf_counter()
        policy.decide(call, NOW)
        samples.append(time.perf_counter() - start)
    return samples, (time.thread_time() - cpu) / len(work)


def summary(samples: list[float], cpu: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(ordered[len(ordered) // 2] * 1e6, 2),
        "p99_us": round(ordered[int(len(ordered) * 0.99)] * 1e6, 2),
        "cpu_per_call_us": round(statistics.median(cpu) * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60_000)
    args = parser.parse_args()
    text = policy_text()
    bounded_policy = compile_text(text)
    re_policy = compile_with_re(text)
    work = calls()
    verdicts = [bounded_policy.decide(c, NOW).verdict.value for c in work]
    if verdicts != [re_policy.decide(c, NOW).verdict.value for c in work]:
        raise SystemExit("the two engines disagree on a decision")
    results: dict[str, tuple[list[float], list[float]]] = {"re": ([], []), "bounded": ([], [])}
    rounds = max(1, args.calls // len(work))
    for _ in range(rounds):
        for name, policy in (("re", re_policy), ("bounded", bounded_policy)):
            samples, cpu = batch(policy, work)
            results[name][0].extend(samples)
            results[name][1].append(cpu)
    re_summary = summary(*results["re"])
    bounded_summary = summary(*results["bounded"])
    print(
        json.dumps(
            {
                "benchmark": "policy_regex",
                "calls_per_engine": rounds * len(work),
                "verdicts": {v: verdicts.count(v) for v in sorted(set(verdicts))},
                "baseline_re": re_summary,
                "bounded": bounded_summary,
                "p50_ratio": round(bounded_summary["p50_us"] / re_summary["p50_us"], 2),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
