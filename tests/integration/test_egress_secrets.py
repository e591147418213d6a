# test tokens, not real credentials:
# ruff: noqa: S105
"""The egress guard filling placeholders from the real encrypted file store."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentor_core.capabilities import Capabilities, NetworkDestination, SecretGrant
from agentor_core.egress import HttpRequest
from agentor_core.errors import AgentorError
from agentor_egress import EgressCode, HttpEgressGuard
from agentor_secrets import EncryptedFileStore, redactor_for

TOKEN = "sk-live-7f3a9c0e5d2b4a61"


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"auth": self.headers.get("Authorization", "")}).encode()
        if self.path == "/quiet":
            body = b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> EncryptedFileStore:
    store = EncryptedFileStore(tmp_path / "s.json", "correct horse battery", scrypt_n=2**14)
    store.set("API_TOKEN", TOKEN)
    return store


def capabilities(port: int, audience: str) -> Capabilities:
    return Capabilities(
        network=(
            NetworkDestination.model_validate(
                {
                    "scheme": "http",
                    "host": "127.0.0.1",
                    "port": port,
                    "address_ranges": ["127.0.0.1/32"],
                }
            ),
        ),
        secrets=(SecretGrant(name="API_TOKEN", audiences=(audience,)),),
    )


def test_placeholder_is_filled_from_the_file_and_echo_is_caught(
    store: EncryptedFileStore, port: int
) -> None:
    headers = (("Authorization", "Bearer {{secret:API_TOKEN}}"),)
    with HttpEgressGuard(secrets=store) as guard:
        quiet = guard.send(
            HttpRequest(url=f"http://127.0.0.1:{port}/quiet", headers=headers),
            capabilities(port, "http://127.0.0.1"),
        )
        assert quiet.body == b"{}"
        with pytest.raises(AgentorError) as caught:
            guard.send(
                HttpRequest(url=f"http://127.0.0.1:{port}/echo", headers=headers),
                capabilities(port, "http://127.0.0.1"),
            )
    assert caught.value.code == EgressCode.SECRET_ECHOED
    assert TOKEN not in str(caught.value)


def test_unbound_audience_is_refused(store: EncryptedFileStore, port: int) -> None:
    request = HttpRequest(
        url=f"http://127.0.0.1:{port}/quiet",
        headers=(("Authorization", "Bearer {{secret:API_TOKEN}}"),),
    )
    with HttpEgressGuard(secrets=store) as guard, pytest.raises(AgentorError) as caught:
        guard.send(request, capabilities(port, "https://api.example.com"))
    assert caught.value.code == EgressCode.SECRET_UNBOUND


def test_store_redactor_scrubs_log_lines(store: EncryptedFileStore) -> None:
    line = f"sent Authorization: Bearer {TOKEN}"
    assert redactor_for(store).scrub(line) == "sent Authorization: Bearer [redacted:API_TOKEN]"
