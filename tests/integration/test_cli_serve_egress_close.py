"""`agentor serve` closes its tools' egress guard with the runtime that uses it.

The guard is built lazily on a tool's first request and holds pooled HTTP
connections; it is closed when serve stops, and a reload's retired runtime
keeps its guard (calls still running on it) until that runtime is closed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentor_cli.commands.serve import build
from agentor_core.capabilities import Capabilities, NetworkDestination
from agentor_core.egress import HttpRequest
from agentor_core.errors import AgentorError


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "policy.toml").write_text("version = 1\n", encoding="utf-8")
    path = tmp_path / "agentor.toml"
    path.write_text(
        'version = 1\n[policy]\nfile = "policy.toml"\n[audit]\npath = "audit.db"\n',
        encoding="utf-8",
    )
    return path


def _fetch(guard: Any, port: int) -> bytes:
    grant = Capabilities(
        network=(
            NetworkDestination.model_validate(
                {
                    "scheme": "http",
                    "host": "127.0.0.1",
                    "port": port,
                    "address_ranges": ["127.0.0.1/32"],
                }
            ),
        )
    )
    body: bytes = guard.send(HttpRequest(url=f"http://127.0.0.1:{port}/"), grant).body
    return body


def test_the_guard_closes_when_serve_stops_and_with_a_retired_runtime(
    config: Path, port: int
) -> None:
    served = build(config)
    first = served.egress[id(served.runtime)]
    try:
        assert _fetch(first, port) == b"ok"  # the guard is built now
        config.write_text(config.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
        assert served.reload()
        second = served.egress[id(served.runtime)]
        assert second is not first
        # The retired runtime may still run a call: its guard stays usable until it closes.
        assert not first.closed
        assert _fetch(first, port) == b"ok"
        assert _fetch(second, port) == b"ok"
    finally:
        served.close()
    assert first.closed
    assert second.closed
    assert served.egress == {}
    for guard in (first, second):
        with pytest.raises(AgentorError) as caught:
            _fetch(guard, port)
        assert caught.value.code == "core.implementation_missing"
