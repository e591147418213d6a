"""`agentor serve` loads only trusted, untampered tools when signatures are required."""

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
POLICY = """
version = 1
[[tool]]
id = "calc"
name = "calculate"
[tool.args.expression]
type = "string"
required = true
"""
CALC_ARGS = '{"expression": "6 * 7"}'


@pytest.fixture(scope="module")
def built() -> Path:
    # Shares the example build cache with test_toolkit_examples: built once per machine.
    return build_cached(CALCULATOR, cache_dir() / "test-fixtures" / "toolkit").path


@pytest.fixture
def box(tmp_path: Path, built: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    shutil.copyfile(built, tmp_path / "calculator.wasm")
    return tmp_path


def _config(box: Path, toolbox: str = "") -> Path:
    path = box / "agentor.toml"
    path.write_text(
        'version = 1\n[policy]\nfile = "policy.toml"\n'
        f'[audit]\npath = "{box / "audit.db"}"\n'
        f'{toolbox}\n[[tools]]\nfile = "calculator.wasm"\n',
        encoding="utf-8",
    )
    return path


def _tool(*args: str) -> None:
    result = CliRunner().invoke(cli, ["tool", *args, "--json"])
    assert result.exit_code == 0, result.output


def _sign(box: Path, name: str = "publisher") -> Path:
    key = box / name
    _tool("keygen", str(key))
    _tool("sign", str(box / "calculator.wasm"), "--key", str(key))
    return key.with_name(f"{name}.pub")


def _serve(config: Path, *extra: str) -> tuple[int, Any]:
    result = CliRunner().invoke(
        cli,
        [
            *("serve", "--config", str(config), "--check", "--no-reload"),
            *("--check-tool", "calculate", "--check-args", CALC_ARGS, *extra, "--json"),
        ],
    )
    return result.exit_code, json.loads(result.stdout)


REQUIRED = '[toolbox]\nrequire_signed = true\ntrusted_keys = ["keys"]'


def test_config_refuses_an_unsigned_tool_naming_it(box: Path) -> None:
    (box / "keys").mkdir()
    code, out = _serve(_config(box, REQUIRED))
    assert code == 1
    assert out["error"]["code"] == "toolkit.unsigned"
    assert "tool 'calculator'" in out["error"]["message"]


def test_config_serves_a_tool_signed_by_a_trusted_key(box: Path) -> None:
    pub = _sign(box)
    (box / "keys").mkdir()
    shutil.copyfile(pub, box / "keys" / pub.name)
    code, out = _serve(_config(box, REQUIRED))
    assert code == 0, out
    assert out["tools"] == ["calculate"]


def test_a_tampered_tool_is_refused(box: Path) -> None:
    pub = _sign(box)
    wasm = box / "calculator.wasm"
    data = bytearray(wasm.read_bytes())
    data[len(data) // 2] ^= 0x01
    wasm.write_bytes(bytes(data))
    code, out = _serve(_config(box), "--require-signed", "--trust", str(pub))
    assert code == 1
    assert out["error"]["code"] == "toolkit.signature_invalid"
    assert "calculator" in out["error"]["message"]


def test_flags_require_a_trusted_signer(box: Path) -> None:
    config = _config(box)
    code, out = _serve(config, "--require-signed")
    assert (code, out["error"]["code"]) == (1, "toolkit.unsigned")
    _sign(box)
    other = box / "other"
    _tool("keygen", str(other))
    code, out = _serve(config, "--require-signed", "--trust", f"{other}.pub")
    assert (code, out["error"]["code"]) == (1, "toolkit.untrusted_key")
    code, out = _serve(config, "--require-signed", "--trust", str(box / "publisher.pub"))
    assert code == 0, out


def test_a_signature_present_is_checked_even_when_not_required(box: Path) -> None:
    _sign(box)  # signed by a key nobody trusts
    code, out = _serve(_config(box))
    assert (code, out["error"]["code"]) == (1, "toolkit.untrusted_key")
