"""A generic component (a custom WIT world) through `agentor tool` and `agentor serve`."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agentor_cli.app import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sandbox"))

from sandbox_fixtures import build_generic

POLICY = """
version = 1
[[tool]]
id = "color"
name = "next-color"
[tool.args.c]
type = "string"
required = true
"""


@pytest.fixture(scope="module")
def generic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("generic") / "generic.wasm"
    shutil.copyfile(build_generic(), target)
    return target


def _run(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_inspect_lists_every_export_with_its_schema(generic: Path) -> None:
    code, out = _run("tool", "inspect", str(generic))
    assert code == 0, out
    assert out["reflected"] is True
    tools = {tool["name"]: tool for tool in out["tools"]}
    assert tools["next-color"]["input_schema"]["properties"]["c"]["enum"] == [
        "red",
        "green",
        "blue",
    ]


def test_call_converts_arguments_and_results(generic: Path) -> None:
    code, out = _run("tool", "call", str(generic), "divide", "--args", '{"a": 9, "b": 2}')
    assert code == 0, out
    assert out["result"]["content"][0]["data"] == {"result": {"ok": 4}}
    code, out = _run(
        "tool", "call", str(generic), "move-point", "--args", '{"p": {"x": 1}, "dx": 0}'
    )
    assert code == 1
    assert out["error"]["code"] == "sandbox.arguments_invalid"
    assert "'p'.y" in out["error"]["message"]


def test_serve_lists_and_calls_a_generic_component(
    generic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    config = tmp_path / "agentor.toml"
    config.write_text(
        'version = 1\n[policy]\nfile = "policy.toml"\n'
        f'[audit]\npath = "{tmp_path / "audit.db"}"\n'
        f'[[tools]]\nfile = "{generic}"\n',
        encoding="utf-8",
    )
    code, out = _run(
        *("serve", "--config", str(config), "--check", "--no-reload"),
        *("--check-tool", "next-color", "--check-args", '{"c": "red"}'),
    )
    assert code == 0, out
    assert {"next-color", "divide", "move-point"} <= set(out["tools"])
    assert out["call"]["structured_content"] == {"result": "green"}
