"""A Python tool built with componentize-py, run through every host import of the world."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agentor_core import Capabilities, HttpRequest, HttpResponse, ToolCall
from agentor_core.errors import AgentorError
from agentor_sandbox import ProgressEvent, SandboxCode, SandboxRuntime
from agentor_sandbox.runtime import DEFAULT_POOL_SIZE

pytestmark = pytest.mark.slow


def call(tool: str, args: dict[str, object] | None = None) -> ToolCall:
    return ToolCall(id="c1", tool=tool, arguments=args or {})


def data(result: object) -> object:
    assert getattr(result, "error", None) is None, result
    return result.content[0].model_dump()["data"]  # type: ignore[attr-defined]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class UrllibGuard:
    """A real EgressGuard for this test: it sends over HTTP, refusing any other host.

    The production guard is agentor-egress (tests/integration/test_sandbox_egress.py).
    """

    def __init__(self, allowed_prefix: str) -> None:
        self.allowed_prefix = allowed_prefix
        self.sent: list[HttpRequest] = []

    def send(self, request: HttpRequest, grant: Capabilities) -> HttpResponse:
        if not request.url.startswith(self.allowed_prefix):
            raise AgentorError("egress.destination_denied", "not allowed by the test guard")
        self.sent.append(request)
        with urllib.request.urlopen(request.url, timeout=5) as resp:  # noqa: S310 - local test server
            return HttpResponse(status=resp.status, url=request.url, body=resp.read())


class DictSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def names(self) -> Sequence[str]:
        return sorted(self.values)

    def exists(self, name: str) -> bool:
        return name in self.values

    def reveal(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> bool:
        return self.values.pop(name, None) is not None


@pytest.fixture(scope="module")
def hosted(
    pytool_wasm: Path, server: str
) -> Iterator[tuple[SandboxRuntime, UrllibGuard, list[ProgressEvent]]]:
    from sandbox_fixtures import compile_cache_dir

    guard = UrllibGuard(server)
    events: list[ProgressEvent] = []
    rt = SandboxRuntime(
        [pytool_wasm],
        cache_dir=compile_cache_dir(),
        egress_guard=guard,
        secret_store=DictSecrets({"API_TOKEN": "s3cret", "OTHER": "x"}),
        on_progress=events.append,
    )
    yield rt, guard, events
    rt.close()


def test_manifest_lists_the_tools(pytool_runtime: SandboxRuntime) -> None:
    names = {spec.name for spec in pytool_runtime.list_tools()}
    assert {"echo", "state", "fetch"} <= names


def test_echo(pytool_runtime: SandboxRuntime) -> None:
    assert data(pytool_runtime.invoke(call("echo", {"x": [1, 2]}), Capabilities())) == {
        "echo": {"x": [1, 2]}
    }


def test_every_call_sees_a_fresh_instance(pytool_runtime: SandboxRuntime) -> None:
    for _ in range(DEFAULT_POOL_SIZE + 3):
        assert data(pytool_runtime.invoke(call("state"), Capabilities())) == {"calls": 1}


def test_tool_error_keeps_its_code_under_tool_prefix(pytool_runtime: SandboxRuntime) -> None:
    result = pytool_runtime.invoke(call("fail"), Capabilities())
    assert result.error is not None
    assert result.error.code == "tool.bad_input"
    assert result.error.message == "this tool always fails"


def test_log_progress_and_now(
    hosted: tuple[SandboxRuntime, UrllibGuard, list[ProgressEvent]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rt, _guard, events = hosted
    with caplog.at_level("INFO", logger="agentor_sandbox.tool"):
        out = data(rt.invoke(call("log", {"message": "hi\x1b[31m"}), Capabilities()))
    assert isinstance(out, dict)
    assert out["now"] > 1_700_000_000_000
    assert events[-1] == ProgressEvent("c1", 1, 2, "half")
    assert any("hi\\x1b[31m" in r.getMessage() for r in caplog.records)


def test_http_fetch_goes_through_the_guard(
    hosted: tuple[SandboxRuntime, UrllibGuard, list[ProgressEvent]], server: str
) -> None:
    rt, guard, _ = hosted
    out = data(rt.invoke(call("fetch", {"url": f"{server}/x"}), Capabilities()))
    assert out == {"results": [{"status": 200, "body": "hello from /x"}]}
    assert guard.sent[-1].url == f"{server}/x"
    denied = data(rt.invoke(call("fetch", {"url": "http://example.com/"}), Capabilities()))
    assert denied == {
        "results": [
            {"error": "egress.destination_denied", "message": "not allowed by the test guard"}
        ]
    }


def test_http_requests_are_counted_per_call(
    hosted: tuple[SandboxRuntime, UrllibGuard, list[ProgressEvent]], server: str
) -> None:
    rt, guard, _ = hosted
    limited = Capabilities.model_validate({"limits": {"http_requests": 2}})
    before = len(guard.sent)
    result = rt.invoke(call("fetch", {"url": f"{server}/n", "times": 5}), limited)
    assert result.error is not None
    assert result.error.code == SandboxCode.HTTP_REQUESTS_EXHAUSTED
    assert len(guard.sent) - before == 2
    # The next call has its own budget.
    assert data(rt.invoke(call("fetch", {"url": f"{server}/n", "times": 2}), limited))


def test_without_a_guard_fetch_is_refused(pytool_runtime: SandboxRuntime) -> None:
    out = data(pytool_runtime.invoke(call("fetch", {"url": "http://127.0.0.1:9/"}), Capabilities()))
    assert out["results"][0]["error"] == SandboxCode.EGRESS_UNAVAILABLE  # type: ignore[index]


def test_secret_exists_only_for_granted_names(
    hosted: tuple[SandboxRuntime, UrllibGuard, list[ProgressEvent]],
) -> None:
    rt, _, _ = hosted
    granted = Capabilities.model_validate({"secrets": [{"name": "API_TOKEN"}, {"name": "MISSING"}]})
    assert data(rt.invoke(call("secret", {"name": "API_TOKEN"}), granted)) == {"exists": True}
    assert data(rt.invoke(call("secret", {"name": "MISSING"}), granted)) == {"exists": False}
    # Set in the store but not granted: the tool cannot even learn it exists.
    assert data(rt.invoke(call("secret", {"name": "OTHER"}), granted)) == {"exists": False}


def test_async_calls_run_concurrently(pytool_runtime: SandboxRuntime) -> None:
    async def main() -> list[object]:
        calls = [
            pytool_runtime.invoke_async(call("echo", {"i": i}), Capabilities()) for i in range(6)
        ]
        return [data(r) for r in await asyncio.gather(*calls)]

    assert asyncio.run(main()) == [{"echo": {"i": i}} for i in range(6)]
