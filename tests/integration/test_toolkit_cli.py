"""``agentor tool keygen|sign|verify|inspect|build``: JSON output, error codes, exit status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import wasmtime
from click.testing import CliRunner

from agentor_cli.app import cli
from agentor_toolkit.component import COMPONENT_VERSION, MAGIC, append_custom_section
from agentor_toolkit.manifest import SECTION_NAME, Manifest

FIXTURES = Path(__file__).resolve().parents[1] / "toolkit" / "fixtures"


def _run(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, ["tool", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def _component(tmp_path: Path) -> Path:
    manifest = Manifest.model_validate(
        {
            "name": "demo",
            "tools": [{"name": "echo"}],
            "requests": {"network": [{"host": "example.com"}]},
        }
    )
    path = tmp_path / "demo.wasm"
    path.write_bytes(
        append_custom_section(MAGIC + COMPONENT_VERSION, SECTION_NAME, manifest.canonical())
    )
    return path


def test_keygen_sign_verify_inspect(tmp_path: Path) -> None:
    component = _component(tmp_path)
    key = tmp_path / "signer"
    code, out = _run("keygen", str(key))
    assert code == 0
    kid = out["key_id"]
    code, out = _run("keygen", str(key))
    assert code == 1
    assert out["error"]["code"] == "toolkit.key_exists"

    code, out = _run("verify", str(component), "--trust", f"{key}.pub")
    assert code == 1
    assert out["error"]["code"] == "toolkit.unsigned"
    assert out["error"]["hint"]

    code, out = _run("sign", str(component), "--key", str(key))
    assert code == 0
    assert out["key_id"] == kid
    code, out = _run("verify", str(component), "--trust", f"{key}.pub")
    assert code == 0
    assert out["name"] == "demo"

    code, out = _run("inspect", str(component), "--trust", f"{key}.pub")
    assert code == 0
    assert out["signature"] == {"status": "valid", "key_id": kid}
    assert out["tools"][0]["name"] == "echo"
    assert out["requests"]["network"][0]["host"] == "example.com"

    component.write_bytes(component.read_bytes() + b"\x00\x01\x00")
    code, out = _run("verify", str(component), "--trust", f"{key}.pub")
    assert code == 1
    assert out["error"]["code"] == "toolkit.signature_invalid"


def test_untrusted_signer(tmp_path: Path) -> None:
    component = _component(tmp_path)
    _run("keygen", str(tmp_path / "a"))
    _run("keygen", str(tmp_path / "b"))
    _run("sign", str(component), "--key", str(tmp_path / "a"))
    code, out = _run("verify", str(component), "--trust", str(tmp_path / "b.pub"))
    assert code == 1
    assert out["error"]["code"] == "toolkit.untrusted_key"


def test_inspect_generic_component(tmp_path: Path) -> None:
    path = tmp_path / "generic.wasm"
    path.write_bytes(bytes(wasmtime.wat2wasm((FIXTURES / "generic.wat").read_text())))
    code, out = _run("inspect", str(path))
    assert code == 0
    assert out["reflected"] is True
    assert out["signature"]["status"] == "unsigned"
    assert "dist" in [tool["name"] for tool in out["tools"]]


def test_build_reports_unsupported_types(tmp_path: Path) -> None:
    source = tmp_path / "bad.py"
    source.write_text(
        "from agentor_toolkit.guest import tool\n\n"
        "@tool\ndef f(data: bytes) -> int:\n    return 0\n"
    )
    code, out = _run("build", str(source), "--no-precompile")
    assert code == 1
    assert out["error"]["code"] == "toolkit.schema_unsupported"
    assert "parameter 'data'" in out["error"]["message"]
