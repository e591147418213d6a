"""Reading policy files: errors name the file, the key and the line; the hash is canonical."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentor_core.errors import AgentorError
from agentor_policy import PolicyCode, compile_file, compile_text, parse_policy_text
from agentor_policy.loader import locate

GOOD = """
version = 1
[[tool]]
id = "fetch"
name = "web.fetch"
[tool.args.url]
type = "string"
max_length = 100
[tool.args.timeout]
type = "integer"
"""

REFORMATTED = """# the same policy, laid out differently
version = 1

[[tool]]
name = "web.fetch"   # keys in another order
id = "fetch"
args = { timeout = { type = "integer" }, url = { max_length = 100, type = "string" } }
strict_args = true   # a default, spelled out
"""


A = "version = 1\n[[tool]]\nid = 'x'\nname = 'a'\n"


def error_of(text: str, source: str = "p.toml") -> AgentorError:
    with pytest.raises(AgentorError) as info:
        parse_policy_text(text, source)
    return info.value


def test_hash_ignores_layout_comments_order_and_defaults() -> None:
    assert compile_text(GOOD).hash == compile_text(REFORMATTED).hash
    changed = GOOD.replace("max_length = 100", "max_length = 101")
    assert compile_text(changed).hash != compile_text(GOOD).hash


def test_unknown_key_names_file_line_and_key() -> None:
    error = error_of(GOOD.replace("max_length = 100", "max_lenght = 100"))
    assert error.code == PolicyCode.INVALID
    assert error.message.startswith("p.toml: invalid policy: ")
    assert "line 8, key tool[0].args.url.max_lenght: unknown key" in error.message
    assert error.hint


def test_wrong_type_names_line_and_key() -> None:
    error = error_of(GOOD.replace('type = "integer"', "type = 5"))
    assert "line 10, key tool[0].args.timeout.type" in error.message


def test_second_array_element_is_located() -> None:
    text = GOOD + '\n[[tool]]\nid = "b"\nname = "b"\napproval = "sometimes"\n'
    error = error_of(text)
    assert "line 15, key tool[1].approval" in error.message


def test_inline_table_key_falls_back_to_parent_line() -> None:
    error = error_of(REFORMATTED.replace('type = "integer"', "type = 1"))
    assert "line 7, key tool[0].args.timeout.type" in error.message


def test_missing_version() -> None:
    error = error_of("[[tool]]\nid = 'x'\nname = 'x'\n")
    assert "key version: Field required" in error.message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("version = 2", "key version"),
        ("version = 1\n[[tool]]\nid = 'x'\n", "needs 'name', 'glob' or 'component_hash'"),
        ("version = 1\n[[tool]]\nid = 'x'\nname = 'a'\nglob = 'a*'\n", "not both"),
        ("version = 1\n[[tool]]\nid = 'x'\nname = 'a'\napproval = 'when'\n", "ask_when"),
        (
            A + "[[tool]]\nid = 'x'\nname = 'b'\n",
            "used twice",
        ),
        (
            A + "[[tool]]\nid = 'y'\nname = 'a'\n",
            "matches exactly what an earlier tool rule matches",
        ),
        ("version = 1\n[[tool]]\nid = 'x'\nname = 'a'\n[tool.args.p]\npattern = '('\n", "regular"),
        (
            A + "[tool.args.p]\nminimum = 3\nmaximum = 1\n",
            "minimum",
        ),
        (
            A + "[tool.args.p]\npath_under = ['rel']\n",
            "absolute",
        ),
        (
            A + "[tool.args.p]\npath_under = ['/a/../b']\n",
            "..",
        ),
        (
            A + "[tool.args.p]\nurl_hosts = ['a b']\n",
            "host",
        ),
        (
            "version = 1\n[[deny]]\nid = 'd'\nname = 'a'\n[[deny.when]]\narg = 'p'\n",
            "at least one test",
        ),
        ("version = 1\n[[deny]]\nid = 'd'\nname = 'a'\n[[deny.when]]\ngt = 1\n", "need 'arg'"),
        ("version = 1\n[[tool]]\nid = 'bad id!'\nname = 'a'\n", "key tool[0].id"),
        (
            A + "[tool.rate_limit]\ntokens = 0\nper_seconds = 1\n",
            "tokens",
        ),
        (
            A + "[[tool.grant.network]]\nhost = 'not a host'\n",
            "grant.network",
        ),
        ("version = 1\n[[tool]]\nid = 'x'\nname = 'a'\n[tool.grant.limits]\nfuel = 0\n", "fuel"),
        (
            A + "[[tool.grant.secrets]]\nname = 'k'\naudiences = ['https://api.example']\n"
            "carried_in = ['header']\n",
            "not for tools",
        ),
        ("version = 1\nflow = { lethal_trifecta = 'maybe' }\n", "flow.lethal_trifecta"),
    ],
)
def test_invalid_policies(text: str, needle: str) -> None:
    error = error_of(text)
    assert error.code == PolicyCode.INVALID
    assert needle in error.message


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("version = 1\n[[tool]\n", encoding="utf-8")
    with pytest.raises(AgentorError) as info:
        compile_file(path)
    assert info.value.code == PolicyCode.SYNTAX
    assert str(path) in info.value.message
    assert "line 2" in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AgentorError) as info:
        compile_file(tmp_path / "absent.toml")
    assert info.value.code == PolicyCode.FILE_UNREADABLE
    assert "absent.toml" in info.value.message


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AgentorError) as info:
        compile_file(tmp_path)
    assert info.value.code == PolicyCode.FILE_UNREADABLE


def test_locate_returns_none_for_unknown_keys() -> None:
    assert locate("version = 1\n", ("tool", 3, "id")) is None
    assert locate("version = 1\n", ("version",)) == 1


def test_every_example_policy_is_valid() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "policies"
    found = sorted(examples.glob("*.toml"))
    assert found, "examples/policies/ has no policy"
    for path in found:
        assert compile_file(path).hash
