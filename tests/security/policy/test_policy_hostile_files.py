"""Hostile policy files and calls: each gives a clear error or a deny, never a crash."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolCall
from agentor_policy import (
    MAX_NESTING,
    MAX_POLICY_BYTES,
    PolicyCode,
    PolicyHolder,
    compile_file,
    compile_text,
)

HEAD = "version = 1\n[[tool]]\nid = 't'\nname = 't'\n"


def refused(tmp_path: Path, content: str | bytes) -> AgentorError:
    path = tmp_path / "hostile.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(AgentorError) as info:
        compile_file(path)
    assert str(path) in info.value.message
    assert info.value.hint
    return info.value


def test_huge_file_is_refused_unparsed(tmp_path: Path) -> None:
    error = refused(tmp_path, "version = 1\n" + "# padding\n" * (MAX_POLICY_BYTES // 10 + 1))
    assert error.code == PolicyCode.FILE_TOO_LARGE


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files")
def test_special_files_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    for path in (Path("/dev/zero"), fifo):
        with pytest.raises(AgentorError) as info:
            compile_file(path)
        assert info.value.code == PolicyCode.FILE_UNREADABLE
        assert "not a regular file" in info.value.message


@pytest.mark.parametrize(
    "value",
    [
        "[" * 100_000 + "]" * 100_000,
        "{a = " * 5000 + "1" + "}" * 5000,
        "[{x = [{y = [" * 50 + "]}]}]" * 50,
        "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1),
    ],
)
def test_deep_nesting_is_refused_before_parsing(tmp_path: Path, value: str) -> None:
    error = refused(tmp_path, f"version = 1\nx = {value}\n")
    assert error.code == PolicyCode.TOO_DEEP
    assert "line 2" in error.message


def test_brackets_inside_strings_and_comments_do_not_count(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    brackets = "[" * 100
    path.write_text(
        f"version = 1 # {brackets}\n[[tool]]\nid = 't'\nname = 't'\nnote = '{brackets}'\n"
        f'[tool.args.p]\npattern = """\n{brackets}]"""\n'
        f"enum = [\"{brackets}\", '''{brackets}''']\n",
        encoding="utf-8",
    )
    with pytest.raises(AgentorError) as info:
        compile_file(path)
    # Parsed past the nesting check: the only problem left is the unbalanced regex.
    assert info.value.code == PolicyCode.INVALID
    assert "regular expression" in info.value.message


@pytest.mark.parametrize(
    "content",
    [
        "version = 1\n" + ".".join(["k"] * 20_000) + " = 1\n",
        "version = 1\n[" + ".".join(["k"] * 20_000) + "]\n",
        "version = 1\nx = { " + ".".join(["k"] * 20_000) + " = 1 }\n",
        "version = 1\n" + '"a".' * 40 + "b = 1\n",
    ],
)
def test_long_dotted_keys_are_refused_before_parsing(tmp_path: Path, content: str) -> None:
    # tomllib's time grows with the square of a dotted key's length.
    error = refused(tmp_path, content)
    assert error.code == PolicyCode.TOO_DEEP
    assert "parts" in error.message


def test_floats_and_dates_are_not_dotted_keys(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    floats = ", ".join(["1.5"] * 100)
    path.write_text(
        f"version = 1\n[[tool]]\nid = 't'\nname = 't'\n[tool.args.p]\nenum = [{floats}]\n"
        "[tool.args.q]\nminimum = 0.25\nmaximum = 1.5e3\n",
        encoding="utf-8",
    )
    assert compile_file(path).hash


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"version = 1\n\xff\xfe\n", PolicyCode.SYNTAX),
        (b"version = 1\nx = '\x00'\n", PolicyCode.SYNTAX),
        (b"\xef\xbb\xbfversion = 1\n", PolicyCode.SYNTAX),
        ("", PolicyCode.INVALID),
        ("version = 1\nversion = 1\n", PolicyCode.SYNTAX),
        ("version = 1979-05-27T07:32:00Z\n", PolicyCode.INVALID),
        ("version = '1'\n", PolicyCode.INVALID),
        ("version = true\n", PolicyCode.INVALID),
        (HEAD + "[tool.rate_limit]\ntokens = 1\nper_seconds = '60'\n", PolicyCode.INVALID),
        ("version = 1\ntool = 5\n", PolicyCode.INVALID),
        ("version = 1\ntool = ['x']\n", PolicyCode.INVALID),
        ("version = 1\n[tool]\nid = 't'\n", PolicyCode.INVALID),
        (HEAD + "trusted = 'yes'\n", PolicyCode.INVALID),
        (HEAD + "args = 5\n", PolicyCode.INVALID),
        (HEAD + "[tool.args.p]\nminimum = nan\n", PolicyCode.INVALID),
        (HEAD + "[tool.args.p]\nmaximum = inf\n", PolicyCode.INVALID),
        (HEAD + "[tool.args.p]\nmaximum = 1180591620717411303424\n", PolicyCode.INVALID),
        (HEAD + "[tool.args.p]\nmax_length = -1\n", PolicyCode.INVALID),
        (HEAD + "[tool.args.p]\npattern = '" + "a" * 600 + "'\n", PolicyCode.INVALID),
        (HEAD + "[tool.args.p]\nenum = []\n", PolicyCode.INVALID),
        (HEAD + "[tool.args.p]\nenum = [[1]]\n", PolicyCode.INVALID),
        (HEAD + "[tool.args.p]\nurl_schemes = ['file']\n", PolicyCode.INVALID),
        (HEAD + "[tool.rate_limit]\ntokens = 1\nper_seconds = 0\n", PolicyCode.INVALID),
        (HEAD + "[tool.sink]\nargs = []\n", PolicyCode.INVALID),
        (HEAD + "[[tool.grant.filesystem]]\nguest_path = '/a/../etc'\n", PolicyCode.INVALID),
        (
            HEAD + "[[tool.grant.filesystem]]\nguest_path = '/d'\nwrite = 'yes'\n",
            PolicyCode.INVALID,
        ),
        (HEAD + "[tool.grant.limits]\nfuel = '100'\n", PolicyCode.INVALID),
        (HEAD + "[tool.grant.limits]\nhttp_requests = true\n", PolicyCode.INVALID),
        (HEAD + "[[tool.grant.network]]\nhost = 'a.com'\nport = '443'\n", PolicyCode.INVALID),
        (
            HEAD + "[[tool.grant.secrets]]\nname = 'K'\naudiences = ['file:///etc']\n",
            PolicyCode.INVALID,
        ),
        ("version = 1\n[[tool]]\nid = '" + "x" * 5000 + "'\nname = 't'\n", PolicyCode.INVALID),
        ("version = 1\n[[tool]]\nid = 't'\nname = '../../etc'\n", PolicyCode.INVALID),
        ("version = 1\n[[tool]]\nid = 't'\nglob = '[a-z]*'\n", PolicyCode.INVALID),
        ("version = 1\n[[tool]]\nid = 't'\ncomponent_hash = 'ABC'\n", PolicyCode.INVALID),
    ],
)
def test_malformed_files_give_clear_errors(
    tmp_path: Path, content: str | bytes, code: PolicyCode
) -> None:
    assert refused(tmp_path, content).code == code


def test_too_many_rules(tmp_path: Path) -> None:
    rules = "".join(f"[[deny]]\nid = 'd{i}'\nname = 'x'\n" for i in range(10_001))
    error = refused(tmp_path, "version = 1\n" + rules)
    assert error.code == PolicyCode.INVALID
    assert "key deny" in error.message


def test_many_errors_are_summarised(tmp_path: Path) -> None:
    rules = "".join(f"[[tool]]\nid = 't{i}'\nname = 't{i}'\nbogus = 1\n" for i in range(50))
    error = refused(tmp_path, "version = 1\n" + rules)
    assert "... and 45 more" in error.message
    assert len(error.message) < 4096


def test_messages_never_echo_hostile_values(tmp_path: Path) -> None:
    escape = "\x1b]0;pwned\x07\x1b[2J"
    for content in (
        HEAD + f"approval = '{escape}'\n".replace("\x1b", "\\u001b").replace("\x07", "\\u0007"),
        HEAD + f'trusted = "{escape}"\n'.replace("\x1b", "\\u001b").replace("\x07", "\\u0007"),
        HEAD + "[[tool.grant.network]]\nhost = 'evil\\u001b[2J.com'\n",
    ):
        error = refused(tmp_path, content)
        assert "\x1b" not in error.message
        assert "\x07" not in error.message
        assert "pwned" not in error.message


def test_bad_reload_under_attack_keeps_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(HEAD, encoding="utf-8")
    holder = PolicyHolder.from_file(path)
    before = holder.policy_hash
    for hostile in ("x = " + "[" * 10_000, "version = 1\n" + "#" * (MAX_POLICY_BYTES + 1)):
        path.write_text(hostile, encoding="utf-8")
        assert not holder.reload().ok
        assert holder.policy_hash == before


GUARD = compile_text(
    HEAD
    + "[tool.args.path]\npath_under = ['/data']\n[tool.args.url]\nurl_hosts = ['example.com']\n"
    + "[tool.args.n]\ntype = 'integer'\nmaximum = 10\n"
)
CONTEXT = PolicyContext(now=datetime(2026, 11, 27, tzinfo=UTC))


@pytest.mark.parametrize(
    "args",
    [
        {"path": "/data/../etc/passwd"},
        {"path": "/data/x/../../etc"},
        {"path": "/data\x00/x"},
        {"path": "/data\\..\\etc"},
        {"path": "//etc/data"},
        {"path": "/datax"},
        {"path": "data/x"},
        {"path": ["/data/x"]},
        {"url": "https://example.com\\@evil.com/"},
        {"url": "https://evil.com#@example.com"},
        {"url": "https://example.com.evil.com/"},
        {"url": "https://user@example.com/"},
        {"url": "https://example.com:99999/"},
        {"url": " https://example.com/"},
        {"url": "https://exa\tmple.com/"},
        {"url": "javascript://example.com/%0aalert(1)"},
        {"url": "//example.com/"},
        {"n": 11},
        {"n": True},
        {"n": "5"},
        {"n": 2**60},
    ],
)
def test_hostile_arguments_are_denied(args: dict[str, Any]) -> None:
    decision = GUARD.decide(ToolCall(id="1", tool="t", arguments=args), CONTEXT)
    assert decision.verdict is Verdict.DENY


def test_many_distinct_tool_names_do_not_grow_without_bound() -> None:
    for i in range(10_000):
        decision = GUARD.decide(ToolCall(id="1", tool=f"probe{i}"), CONTEXT)
        assert decision.verdict is Verdict.DENY
    assert GUARD._resolve.cache_info().currsize <= 4096
