"""Building tools: source resolution, tool.toml, the manifest, and a real componentize-py build."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentor_core.errors import AgentorError
from agentor_core.paths import cache_dir
from agentor_toolkit import build as build_module
from agentor_toolkit.build import build, build_cached, resolve_source, source_digest
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.inspection import inspect_component
from agentor_toolkit.manifest import load_tool_toml
from agentor_toolkit.signing import TrustStore, keygen, sign, verify

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tools"


def _tool(tmp_path: Path, source: str, toml: str | None = None) -> Path:
    (tmp_path / "mytool.py").write_text(source)
    if toml is not None:
        (tmp_path / "tool.toml").write_text(toml)
    return tmp_path


def test_tool_toml_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "tool.toml"
    path.write_text('[tool]\nname = "x"\n[requests]\nsockets = true\n')
    with pytest.raises(AgentorError) as caught:
        load_tool_toml(path)
    assert caught.value.code == ToolkitCode.SOURCE_INVALID
    assert "sockets" in caught.value.message
    path.write_text("[tool\n")
    with pytest.raises(AgentorError, match="not valid TOML"):
        load_tool_toml(path)
    path.write_text(
        '[tool]\nname = "x"\n[[requests.filesystem]]\nguest_path = "/d"\nhost_path = "/etc"\n'
    )
    with pytest.raises(AgentorError, match="guest paths only"):
        load_tool_toml(path)


def test_source_resolution(tmp_path: Path) -> None:
    with pytest.raises(AgentorError) as caught:
        resolve_source(tmp_path / "missing")
    assert caught.value.code == ToolkitCode.SOURCE_INVALID
    (tmp_path / "a.py").write_text("")
    (tmp_path / "b.py").write_text("")
    with pytest.raises(AgentorError, match="names none"):
        resolve_source(tmp_path)
    assert resolve_source(tmp_path / "a.py").module == "a"
    (tmp_path / "tool.toml").write_text('[tool]\nname = "t"\nmodule = "b"\n')
    assert resolve_source(tmp_path).module == "b"
    (tmp_path / "tool.toml").write_text('[tool]\nname = "t"\nmodule = "wit_world"\n')
    with pytest.raises(AgentorError, match="cannot be a tool module name"):
        resolve_source(tmp_path)


def test_unsupported_type_stops_the_build_naming_the_parameter(tmp_path: Path) -> None:
    src = _tool(
        tmp_path,
        "from agentor_toolkit.guest import tool\n\n"
        "@tool\ndef f(items: set[int]) -> int:\n    return 0\n",
    )
    with pytest.raises(AgentorError) as caught:
        build(src / "mytool.py", tmp_path / "out.wasm")
    assert caught.value.code == ToolkitCode.SCHEMA_UNSUPPORTED
    assert "parameter 'items'" in caught.value.message
    assert not (tmp_path / "out.wasm").exists()


def test_module_outside_the_standard_library_fails_clearly(tmp_path: Path) -> None:
    src = _tool(tmp_path, "import pydantic\n")
    with pytest.raises(AgentorError) as caught:
        build(src / "mytool.py", tmp_path / "out.wasm")
    assert caught.value.code == ToolkitCode.BUILD_FAILED
    assert "pydantic" in caught.value.message


def test_build_unavailable_is_actionable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The one stand-in in this suite: componentize-py's absence cannot be produced
    # while it is installed for the other tests.
    monkeypatch.setattr(build_module, "build_available", lambda: False)
    with pytest.raises(AgentorError) as caught:
        build(_tool(tmp_path, "") / "mytool.py")
    assert caught.value.code == ToolkitCode.BUILD_UNAVAILABLE
    assert caught.value.hint is not None
    assert "agentor-toolkit[build]" in caught.value.hint


def test_source_hash_is_repeatable_and_sensitive(tmp_path: Path) -> None:
    src = _tool(tmp_path, "x = 1\n", '[tool]\nname = "t"\n')
    first = source_digest(src)
    assert source_digest(src) == first
    (tmp_path / "mytool.py").write_text("x = 2\n")
    assert source_digest(src) != first


@pytest.mark.slow
def test_build_inspect_sign_verify_round_trip(tmp_path: Path) -> None:
    # Cached by source hash, shared with tests/integration: one componentize-py run per source.
    result = build_cached(EXAMPLES / "calculator", cache_dir() / "test-fixtures" / "toolkit")
    assert result.manifest.name == "calculator"
    assert [t.name for t in result.manifest.tools] == ["calculate"]
    component = tmp_path / "calculator.wasm"
    component.write_bytes(result.path.read_bytes())
    found = inspect_component(component, TrustStore())
    assert found.kind == "component"
    assert found.sha256 == result.sha256
    assert found.signature == "unsigned"
    assert {"describe", "call"} <= set(found.exports)
    assert "agentor:tool/host@0.1.0" in found.imports
    assert not any(name.startswith("wasi:http") for name in found.imports)
    private, public, _ = keygen(tmp_path / "key")
    sign(component, private)
    assert verify(component, TrustStore.from_paths([public])).manifest == result.manifest
    data = bytearray(component.read_bytes())
    data[len(data) // 2] ^= 0xFF
    component.write_bytes(bytes(data))
    with pytest.raises(AgentorError) as caught:
        verify(component, TrustStore.from_paths([public]))
    assert caught.value.code == ToolkitCode.SIGNATURE_INVALID


def test_manifest_survives_printing_at_import(tmp_path: Path) -> None:
    from agentor_toolkit.build import _head, read_manifest, stage

    src = _tool(
        tmp_path,
        'print("hello from import")\n'
        "from agentor_toolkit.guest import tool\n\n"
        "@tool\ndef ping() -> str:\n    '''Answer pong.'''\n    return 'pong'\n",
        '[tool]\nname = "pinger"\nversion = "2.0.0"\n[[requests.env]]\nname = "LANG"\n',
    )
    source = resolve_source(src)
    staging = tmp_path / "staging"
    stage(source, staging)
    manifest = read_manifest(staging, source.module, _head(source))
    assert manifest.name == "pinger"
    assert manifest.version == "2.0.0"
    assert [env.name for env in manifest.requests.env] == ["LANG"]
    assert manifest.tools[0].description == "Answer pong."
