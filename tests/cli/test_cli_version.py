"""agentor --version and agentor version."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from click.testing import CliRunner

import agentor_cli
import agentor_core
from agentor_cli.app import cli


def test_version_flag_lists_distributions(dirs: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for dist in ("agentor-core", "agentor-cli"):
        row = next(line for line in lines if dist in line)
        assert metadata.version(dist) in row
    assert "agentor distributions" in result.stdout


def test_version_flag_runs_no_subcommand(dirs: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["--version", "doctor"])
    assert result.exit_code == 0
    assert "no errors" not in result.stdout


def test_version_json(dirs: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["version", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["python"] == ".".join(map(str, sys.version_info[:3]))
    distributions = document["distributions"]
    assert distributions["agentor-core"] == metadata.version("agentor-core")
    assert distributions["agentor-cli"] == metadata.version("agentor-cli")
    assert distributions["agentor-core"] == agentor_core.__version__
    assert distributions["agentor-cli"] == agentor_cli.__version__
    assert list(distributions) == sorted(distributions)


def test_version_text(dirs: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["version"])
    assert result.exit_code == 0
    assert "agentor-core" in result.stdout
    assert "{" not in result.stdout


def test_help(dirs: dict[str, Path]) -> None:
    for flag in ("--help", "-h"):
        result = CliRunner().invoke(cli, [flag])
        assert result.exit_code == 0
        assert "doctor" in result.stdout
        assert "version" in result.stdout


def test_python_dash_m(dirs: dict[str, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentor_cli", "version", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["distributions"]["agentor-cli"] == agentor_cli.__version__
