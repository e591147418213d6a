"""Adversarial corpus against a real Python component: limits, filesystem, ambient authority."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentor_core import Capabilities, ToolCall
from agentor_core.tools import ToolResult
from agentor_sandbox import SandboxCode, SandboxRuntime

pytestmark = pytest.mark.slow


def invoke(
    rt: SandboxRuntime, tool: str, args: dict[str, object], grant: Capabilities
) -> ToolResult:
    return rt.invoke(ToolCall(id="a", tool=tool, arguments=args), grant)


def out(result: ToolResult) -> dict[str, object]:
    assert result.error is None, result.error
    value = result.content[0].model_dump()["data"]
    assert isinstance(value, dict)
    return value


def assert_alive(rt: SandboxRuntime) -> None:
    assert out(invoke(rt, "state", {}, Capabilities())) == {"calls": 1}


LIMIT_CASES = [
    ("spin", {}, {"deadline_ms": 300, "fuel": 10**13}, SandboxCode.DEADLINE_EXCEEDED),
    ("spin", {}, {"fuel": 50_000_000}, SandboxCode.FUEL_EXHAUSTED),
    ("memory_bomb", {}, {"memory_bytes": 96 * 1024 * 1024}, SandboxCode.MEMORY_EXHAUSTED),
    ("log_bomb", {"lines": 1000}, {"log_bytes": 64 * 1024}, SandboxCode.LOG_EXHAUSTED),
    ("stdout_bomb", {"chunks": 100}, {"output_bytes": 256 * 1024}, SandboxCode.OUTPUT_EXHAUSTED),
    (
        "result_bomb",
        {"size": 2 * 1024 * 1024},
        {"result_bytes": 1024 * 1024},
        SandboxCode.RESULT_TOO_LARGE,
    ),
]


@pytest.mark.parametrize(("tool", "args", "limits", "code"), LIMIT_CASES, ids=lambda v: str(v)[:20])
def test_component_limits(
    pytool_runtime_sec: SandboxRuntime,
    tool: str,
    args: dict[str, object],
    limits: dict[str, int],
    code: SandboxCode,
) -> None:
    grant = Capabilities.model_validate({"limits": limits})
    result = invoke(pytool_runtime_sec, tool, args, grant)
    assert result.error is not None
    assert result.error.code == code
    assert_alive(pytool_runtime_sec)


def test_state_is_not_visible_to_the_next_call(pytool_runtime_sec: SandboxRuntime) -> None:
    for _ in range(5):
        assert_alive(pytool_runtime_sec)


def test_environment_is_only_what_was_granted(
    pytool_runtime_sec: SandboxRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOR_LEAK", "host-secret")
    assert out(invoke(pytool_runtime_sec, "env", {}, Capabilities()))["env"] == {}
    grant = Capabilities.model_validate(
        {"env": [{"name": "AGENTOR_LEAK"}, {"name": "FIXED", "value": "v"}]}
    )
    assert out(invoke(pytool_runtime_sec, "env", {}, grant))["env"] == {
        "AGENTOR_LEAK": "host-secret",
        "FIXED": "v",
    }


def test_no_socket_from_inside(pytool_runtime_sec: SandboxRuntime) -> None:
    result = out(invoke(pytool_runtime_sec, "socket", {"port": 9}, Capabilities()))
    assert result["connected"] is False


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    pre = tmp_path / "pre"
    outside = tmp_path / "outside"
    pre.mkdir()
    outside.mkdir()
    (pre / "ok.txt").write_text("inside")
    (outside / "secret.txt").write_text("outside secret")
    (pre / "link_rel").symlink_to("../outside/secret.txt")
    (pre / "link_abs").symlink_to(outside / "secret.txt")
    (pre / "dirlink").symlink_to(outside)
    return {"pre": pre, "outside": outside}


def grant_for(pre: Path, *, write: bool) -> Capabilities:
    return Capabilities.model_validate(
        {"filesystem": [{"guest_path": "/data", "host_path": str(pre), "write": write}]}
    )


def test_reads_inside_the_preopen_work(
    pytool_runtime_sec: SandboxRuntime, tree: dict[str, Path]
) -> None:
    grant = grant_for(tree["pre"], write=False)
    assert out(invoke(pytool_runtime_sec, "read_file", {"path": "/data/ok.txt"}, grant)) == {
        "text": "inside"
    }


@pytest.mark.parametrize(
    "path",
    [
        "/data/../outside/secret.txt",
        "/data/../../outside/secret.txt",
        "../outside/secret.txt",
        "/data/link_rel",
        "/data/link_abs",
        "/data/dirlink/secret.txt",
        "/data/ok.txt/",
        "/etc/passwd",
        "/proc/self/environ",
    ],
)
def test_reads_outside_the_preopen_fail(
    pytool_runtime_sec: SandboxRuntime, tree: dict[str, Path], path: str
) -> None:
    grant = grant_for(tree["pre"], write=True)
    result = out(invoke(pytool_runtime_sec, "read_file", {"path": path}, grant))
    assert "text" not in result, result


def test_absolute_host_path_fails(
    pytool_runtime_sec: SandboxRuntime, tree: dict[str, Path]
) -> None:
    grant = grant_for(tree["pre"], write=True)
    path = str(tree["outside"] / "secret.txt")
    assert "text" not in out(invoke(pytool_runtime_sec, "read_file", {"path": path}, grant))


def test_read_only_preopen_refuses_writes_and_truncation(
    pytool_runtime_sec: SandboxRuntime, tree: dict[str, Path]
) -> None:
    grant = grant_for(tree["pre"], write=False)
    for path in ("/data/ok.txt", "/data/new.txt"):
        assert "error" in out(invoke(pytool_runtime_sec, "write_file", {"path": path}, grant))
    assert (tree["pre"] / "ok.txt").read_text() == "inside"
    assert not (tree["pre"] / "new.txt").exists()
    moved = invoke(
        pytool_runtime_sec, "rename", {"src": "/data/ok.txt", "dst": "/data/moved"}, grant
    )
    assert "error" in out(moved)
    assert (tree["pre"] / "ok.txt").exists()


def test_writable_preopen_writes_only_inside(
    pytool_runtime_sec: SandboxRuntime, tree: dict[str, Path]
) -> None:
    grant = grant_for(tree["pre"], write=True)
    assert out(invoke(pytool_runtime_sec, "write_file", {"path": "/data/new.txt"}, grant)) == {
        "ok": True
    }
    assert (tree["pre"] / "new.txt").read_text() == "written"
    # Writing through a symlink that points outside must not reach the target.
    assert "error" in out(
        invoke(pytool_runtime_sec, "write_file", {"path": "/data/link_rel"}, grant)
    )
    assert (tree["outside"] / "secret.txt").read_text() == "outside secret"


@pytest.mark.parametrize("op", ["rename", "link"])
@pytest.mark.parametrize(
    "dst", ["/data/../escaped", "../escaped", "/escaped", "/data/dirlink/escaped"]
)
def test_renames_and_hard_links_cannot_leave_the_preopen(
    pytool_runtime_sec: SandboxRuntime, tree: dict[str, Path], op: str, dst: str
) -> None:
    grant = grant_for(tree["pre"], write=True)
    result = out(invoke(pytool_runtime_sec, op, {"src": "/data/ok.txt", "dst": dst}, grant))
    assert "error" in result, result
    assert not (tree["pre"].parent / "escaped").exists()
    assert not (tree["outside"] / "escaped").exists()
    assert (tree["pre"] / "ok.txt").exists()


def test_hard_link_planted_by_the_host_is_just_a_file(
    pytool_runtime_sec: SandboxRuntime, tree: dict[str, Path]
) -> None:
    # A hard link is the same file: granting the folder grants it. What must
    # not happen is a write through a read-only grant.
    os.link(tree["outside"] / "secret.txt", tree["pre"] / "hard")
    grant = grant_for(tree["pre"], write=False)
    assert "error" in out(invoke(pytool_runtime_sec, "write_file", {"path": "/data/hard"}, grant))
    assert (tree["outside"] / "secret.txt").read_text() == "outside secret"


def test_root_lists_only_the_preopen(
    pytool_runtime_sec: SandboxRuntime, tree: dict[str, Path]
) -> None:
    grant = grant_for(tree["pre"], write=False)
    listing = out(invoke(pytool_runtime_sec, "listdir", {"path": "/data"}, grant))
    assert listing == {"entries": ["dirlink", "link_abs", "link_rel", "ok.txt"]}
    assert "entries" not in out(
        invoke(pytool_runtime_sec, "listdir", {"path": "/"}, Capabilities())
    ) or (
        out(invoke(pytool_runtime_sec, "listdir", {"path": "/"}, Capabilities()))["entries"] == []
    )
