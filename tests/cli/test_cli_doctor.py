"""agentor doctor: a true report, and exit status 1 on any error."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from agentor_cli import doctor as checks
from agentor_cli.app import cli
from agentor_core import discovery

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["doctor", *args])


def run_json() -> tuple[Result, dict[str, Any]]:
    result = run("--json")
    return result, json.loads(result.stdout)


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in document["checks"]}


def fake_version(versions: dict[str, str | None]) -> Callable[[str], str]:
    real = metadata.version

    def version(name: str) -> str:
        if name in versions:
            found = versions[name]
            if found is None:
                raise metadata.PackageNotFoundError(name)
            return found
        return real(name)

    return version


def test_healthy_json(dirs: dict[str, Path]) -> None:
    result, document = run_json()
    assert result.exit_code == 0, result.output
    assert document["ok"] is True
    found = by_name(document)
    assert found["python"]["status"] == "ok"
    assert found["wasmtime"]["status"] in {"ok", "info"}
    for name, _ in checks.DISTRIBUTIONS:
        assert found[name]["area"] == "distributions"
    assert found["agentor-core"]["status"] == "ok"
    assert found["agentor-core"]["detail"].startswith(metadata.version("agentor-core"))
    assert found["agentor-cli"]["status"] == "ok"
    for info in discovery.INTERFACES:
        check = found[info.interface.__name__]
        assert check["area"] == "interfaces"
        if check["status"] == "info":
            assert check["fix"] == f"pip install {info.distribution}"
    for kind in ("cache", "state", "config"):
        check = found[f"{kind} directory"]
        assert check["area"] == "directories"
        assert check["status"] == "ok"
        assert str(dirs[kind]) in check["detail"]
    assert all(check["status"] != "error" for check in document["checks"])
    # doctor only reports; it creates nothing.
    assert not any(path.exists() for path in dirs.values())


def test_check_fields(dirs: dict[str, Path]) -> None:
    _, document = run_json()
    for check in document["checks"]:
        assert set(check) == {"area", "name", "status", "detail", "fix"}
        assert check["status"] in {"ok", "info", "warn", "error"}


@posix_only
def test_existing_private_dirs_are_ok(dirs: dict[str, Path]) -> None:
    for path in dirs.values():
        path.mkdir(mode=0o700)
    result, document = run_json()
    assert result.exit_code == 0
    assert by_name(document)["state directory"]["detail"] == f"{dirs['state']} (mode 700)"


@posix_only
def test_group_writable_state_dir_is_an_error(dirs: dict[str, Path]) -> None:
    dirs["state"].mkdir()
    dirs["state"].chmod(0o777)
    result, document = run_json()
    assert result.exit_code == 1
    assert document["ok"] is False
    check = by_name(document)["state directory"]
    assert check["status"] == "error"
    assert "writable by group or others" in check["detail"]
    assert check["fix"] == f"chmod 700 {dirs['state']}"
    assert by_name(document)["cache directory"]["status"] == "ok"


def test_state_dir_that_is_a_file_is_an_error(dirs: dict[str, Path]) -> None:
    dirs["state"].write_text("not a folder")
    result, document = run_json()
    assert result.exit_code == 1
    assert document["ok"] is False
    check = by_name(document)["state directory"]
    assert check["status"] == "error"
    assert "not a directory" in check["detail"]
    assert "AGENTOR_STATE_DIR" in check["fix"]


def test_human_output_healthy(dirs: dict[str, Path]) -> None:
    result = run()
    assert result.exit_code == 0, result.output
    assert "no errors" in result.stdout
    for area in ("python", "runtime", "distributions", "interfaces", "directories"):
        assert area in result.stdout
    assert "agentor-core" in result.stdout


@posix_only
def test_human_output_with_error(dirs: dict[str, Path]) -> None:
    dirs["config"].mkdir()
    dirs["config"].chmod(0o777)
    result = run()
    assert result.exit_code == 1
    assert "1 error(s)" in result.stdout
    assert f"fix: chmod 700 {dirs['config']}" in result.stdout
    assert "no errors" not in result.stdout


@pytest.mark.parametrize("version", ["49.0.0", "50.0.0", "50.0.0rc1", "1.0", "0.50.1"])
def test_old_wasmtime_is_an_error(
    version: str, dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks.metadata, "version", fake_version({"wasmtime": version}))
    check = checks.check_wasmtime()
    assert check.status is checks.Status.ERROR
    assert version in check.detail
    assert check.fix is not None
    assert "50.0.1" in check.fix
    result, document = run_json()
    assert result.exit_code == 1
    assert document["ok"] is False
    assert by_name(document)["wasmtime"]["status"] == "error"


@pytest.mark.parametrize(
    "version", ["50.0.1", "50.0.2", "50.1.0", "51.0.0", "100.0.0", "50.0.1.post1"]
)
def test_recent_wasmtime_is_ok(
    version: str, dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks.metadata, "version", fake_version({"wasmtime": version}))
    check = checks.check_wasmtime()
    assert check.status is checks.Status.OK
    assert check.detail == f"wasmtime {version}"
    result, document = run_json()
    assert result.exit_code == 0
    assert by_name(document)["wasmtime"]["status"] == "ok"


def test_missing_wasmtime_is_info(dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks.metadata, "version", fake_version({"wasmtime": None}))
    check = checks.check_wasmtime()
    assert check.status is checks.Status.INFO
    assert check.fix is not None
    assert "agentor-sandbox" in check.fix
    result, document = run_json()
    assert result.exit_code == 0
    assert by_name(document)["wasmtime"]["status"] == "info"


def test_unknown_agentor_distribution_is_a_warning(
    dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = discovery.installed_distributions

    def with_stranger() -> list[discovery.Distribution]:
        return [*real(), discovery.Distribution(name="agentor-evil", version="6.6.6")]

    monkeypatch.setattr(checks.discovery, "installed_distributions", with_stranger)
    result, document = run_json()
    check = by_name(document)["agentor-evil"]
    assert check["status"] == "warn"
    assert "not an official agentor distribution" in check["detail"]
    assert check["fix"] == "pip uninstall agentor-evil unless you installed it on purpose"
    # A warning alone does not fail the run.
    assert result.exit_code == 0
    assert document["ok"] is True
