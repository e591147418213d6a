"""`agentor serve --http --stateless --workers 2`: two processes, one port, one audit log."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from agentor_audit.store import StoreReader
from agentor_cli.app import cli
from agentor_cli.commands.serve import DEFAULTS_DIR

HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    text = (DEFAULTS_DIR / "agentor.toml").read_text(encoding="utf-8")
    text = text.replace('file = "', f'file = "{DEFAULTS_DIR}/')
    text += f'\n[audit]\npath = "{tmp_path / "audit.db"}"\ndurability = "normal"\n'
    path = tmp_path / "agentor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _answer(response: httpx.Response) -> dict[str, Any]:
    response.raise_for_status()
    for line in response.text.splitlines():
        if line.startswith("data:"):
            message: dict[str, Any] = json.loads(line[5:])
            return message
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.skipif(not Path("/proc").is_dir() or not hasattr(os, "fork"), reason="Linux only")
def test_two_workers_share_the_port_and_one_gap_free_log(config: Path, tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    command = [sys.executable, "-m", "agentor_cli", "serve", "--config", str(config)]
    command += ["--no-reload", "--stateless", "--http", f"127.0.0.1:{port}", "--workers", "2"]
    server = subprocess.Popen(command, env=os.environ, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "agentor serve did not listen"
                time.sleep(0.1)
        workers = _children(server.pid)
        assert len(workers) == 1
        calls = 40
        for n in range(calls):
            # A fresh connection each time, so the kernel may hand it to either process.
            with httpx.Client(headers=HEADERS, timeout=30) as client:
                body = {
                    "jsonrpc": "2.0",
                    "id": n,
                    "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": f"call {n}"}},
                }
                answer = _answer(client.post(f"http://127.0.0.1:{port}/mcp", json=body))
            assert answer["result"]["structuredContent"] == {"text": f"call {n}"}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    # The first process took its worker down with it.
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}/stat").exists() for pid in workers)
    with StoreReader(tmp_path / "audit.db") as reader:
        rows = list(reader.rows())
    assert [sequence for sequence, _leaf, _data in rows] == list(range(len(rows)))
    kinds = [json.loads(data)["event"]["type"] for _seq, _leaf, data in rows]
    assert kinds.count("decision") == calls
    assert kinds.count("result") == calls
    verified = CliRunner().invoke(
        cli,
        [
            *("audit", "verify", str(tmp_path / "audit.db")),
            *("--key", str(tmp_path / "state" / "audit" / "checkpoint.key.pub"), "--json"),
        ],
    )
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--http", "127.0.0.1:1", "--workers", "2"], "stateless"),
        (["--workers", "2", "--stateless"], "HTTP only"),
    ],
)
def test_workers_refused_without_stateless_http(
    config: Path, extra: list[str], needle: str
) -> None:
    result = CliRunner().invoke(cli, ["serve", "--config", str(config), "--json", *extra])
    assert result.exit_code != 0
    error = json.loads(result.output)["error"]
    assert error["code"] == "mcp.config_invalid"
    assert needle in error["message"]
