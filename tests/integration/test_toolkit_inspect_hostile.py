"""`agentor tool inspect` shows a hostile manifest as text: no markup, no terminal escapes."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from agentor_cli.app import cli
from agentor_toolkit.component import append_custom_section
from agentor_toolkit.manifest import SECTION_NAME, Manifest

_MODULE = b"\x00asm\x01\x00\x00\x00"


def _component(tmp_path: Path, description: str, parameter: str) -> Path:
    manifest = Manifest.model_validate(
        {
            "name": "hostile",
            "tools": [
                {
                    "name": "t",
                    "description": description,
                    "input_schema": {"type": "object", "properties": {parameter: {}}},
                }
            ],
        }
    )
    path = tmp_path / "hostile.wasm"
    path.write_bytes(append_custom_section(_MODULE, SECTION_NAME, manifest.canonical()))
    return path


def test_markup_in_a_manifest_neither_crashes_nor_styles(tmp_path: Path) -> None:
    path = _component(tmp_path, "[/bold] closes nothing", "[green]valid[/green]")
    result = CliRunner().invoke(cli, ["tool", "inspect", str(path)])
    assert result.exit_code == 0, result.output
    assert "[/bold] closes nothing" in result.stdout
    assert "[green]valid[/green]" in result.stdout


def test_terminal_escapes_in_a_manifest_are_not_printed(tmp_path: Path) -> None:
    path = _component(tmp_path, "\x1b]0;owned\x07\x1b[2Jcleared", "p\x1b[31m")
    result = CliRunner().invoke(cli, ["tool", "inspect", str(path)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert "cleared" in result.stdout
