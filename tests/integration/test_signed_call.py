"""`agentor tool call --require-signed`: only trusted, untampered components reach the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agentor_cli.app import cli
from agentor_core.paths import cache_dir
from agentor_toolkit.build import build_cached

CALCULATOR = Path(__file__).resolve().parents[2] / "examples" / "tools" / "calculator"


@pytest.fixture(scope="module")
def component(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shares the example build cache with test_toolkit_examples: built once per machine.
    built = build_cached(CALCULATOR, cache_dir() / "test-fixtures" / "toolkit")
    target = tmp_path_factory.mktemp("signed") / "calculator.wasm"
    shutil.copyfile(built.path, target)
    return target


def _tool(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, ["tool", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def _call(component: Path, *extra: str) -> tuple[int, Any]:
    return _tool("call", str(component), "calculate", "--args", '{"expression": "6 * 7"}', *extra)


def test_unsigned_component_is_refused_when_signatures_are_required(
    component: Path, tmp_path: Path
) -> None:
    unsigned = tmp_path / "unsigned.wasm"
    shutil.copyfile(component, unsigned)
    code, out = _call(unsigned, "--require-signed")
    assert code == 1
    assert out["error"]["code"] == "toolkit.unsigned"


def test_signed_by_a_trusted_key_runs_and_tampering_is_refused(
    component: Path, tmp_path: Path
) -> None:
    key = tmp_path / "publisher"
    assert _tool("keygen", str(key))[0] == 0
    signed = tmp_path / "calculator.wasm"
    shutil.copyfile(component, signed)
    assert _tool("sign", str(signed), "--key", str(key))[0] == 0

    code, out = _call(signed, "--require-signed", "--trust", f"{key}.pub")
    assert code == 0, out
    assert out["result"]["content"][0]["data"] == {"result": 42}

    other = tmp_path / "stranger"
    assert _tool("keygen", str(other))[0] == 0
    code, out = _call(signed, "--require-signed", "--trust", f"{other}.pub")
    assert code == 1
    assert out["error"]["code"] == "toolkit.untrusted_key"

    # One flipped byte in the middle of the component: refused before it is compiled.
    data = bytearray(signed.read_bytes())
    data[len(data) // 2] ^= 0x01
    signed.write_bytes(bytes(data))
    code, out = _call(signed, "--trust", f"{key}.pub")
    assert code == 1
    assert out["error"]["code"] == "toolkit.signature_invalid"
