"""Real HTTP(S) servers on 127.0.0.1 for the egress tests, and a dict-backed secret store.

Loaded by path from tests/egress/conftest.py and tests/security/egress/conftest.py.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agentor_core.capabilities import Capabilities, NetworkDestination, SecretGrant

ALL_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: TestServer

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("latin-1"),
            "connection": id(self.connection),
        }
        self.server.seen.append(record)
        route = url.path
        try:
            if route.startswith(("/echo", "/api")):
                self._send(
                    200, json.dumps(record).encode(), (("Content-Type", "application/json"),)
                )
            elif route == "/redirect":
                target = query["to"]
                self._send(int(query.get("code", "302")), b"moved", (("Location", target),))
            elif route == "/bytes":
                size = int(query["n"])
                if query.get("chunked"):
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = b"x" * 65536
                    sent = 0
                    while sent < size:
                        part = chunk[: min(len(chunk), size - sent)]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                        sent += len(part)
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self._send(200, b"x" * size)
            elif route == "/slow":
                # Slow loris: headers at once, then one byte per interval, never finishing.
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(2000):
                    if self.server.stopping.is_set():
                        return
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.02)
            elif route == "/stall":
                self.server.stopping.wait(5)
            elif route == "/headers":
                count = int(query["n"])
                self._send(200, b"ok", tuple((f"X-H{i}", "v") for i in range(count)))
            elif route == "/reflect":
                value = self.headers.get("X-Reflect", "")
                where = query.get("in", "body")
                if where == "header":
                    self._send(200, b"ok", (("X-Echo", value),))
                elif where == "location":
                    self._send(302, b"moved", (("Location", f"/echo?k={value}"),))
                else:
                    self._send(200, f"you sent {value}".encode())
            else:
                self._send(404, b"not found")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    # http.server dispatches on these exact names.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _route  # noqa: N815


class TestServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[dict[str, Any]] = []
        self.stopping = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients the guard cut off mid-response are expected here.
        pass

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@contextmanager
def serve(tls: ssl.SSLContext | None = None) -> Iterator[TestServer]:
    server = TestServer()
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def grant(*destinations: NetworkDestination, secrets: tuple[SecretGrant, ...] = ()) -> Capabilities:
    return Capabilities(network=destinations, secrets=secrets)


def local(
    port: int,
    *,
    host: str = "127.0.0.1",
    scheme: str = "http",
    path_prefix: str = "/",
    methods: frozenset[str] = ALL_METHODS,
    ranges: tuple[str, ...] = ("127.0.0.1/32",),
) -> NetworkDestination:
    return NetworkDestination.model_validate(
        {
            "scheme": scheme,
            "host": host,
            "port": port,
            "path_prefix": path_prefix,
            "methods": methods,
            "address_ranges": ranges,
        }
    )


class DictSecrets:
    """A real SecretStore over a dict (agentor-secrets is not installed in this suite)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)

    def names(self) -> list[str]:
        return sorted(self.values)

    def exists(self, name: str) -> bool:
        return name in self.values

    def reveal(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> bool:
        return self.values.pop(name, None) is not None
