"""The five example tools: built with agentor-toolkit, called through agentor-sandbox.

Builds are cached by source hash and native compiles by component hash under
``cache_dir()/test-fixtures``, so only the first session on a machine pays for them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentor_core import Capabilities, NetworkDestination, PathAccess, ToolCall
from agentor_core.errors import AgentorError
from agentor_core.paths import cache_dir
from agentor_egress import HttpEgressGuard
from agentor_sandbox import SandboxRuntime
from agentor_toolkit.build import BuildResult, build_cached
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.grants import check_grant
from agentor_toolkit.signing import TrustStore, keygen, sign, verify

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tools"
NAMES = ("calculator", "json_query", "csv_summary", "search_files", "fetch_page")


def fixtures() -> Path:
    return cache_dir() / "test-fixtures"


@pytest.fixture(scope="module")
def built() -> dict[str, BuildResult]:
    return {name: build_cached(EXAMPLES / name, fixtures() / "toolkit") for name in NAMES}


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (
            b"<html><head><title>Hello page</title><style>p{}</style></head>"
            b"<body><h1>Welcome</h1><script>alert(1)</script>"
            b"<p>Plain &amp; simple.</p></body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def runtime(built: dict[str, BuildResult]) -> Iterator[SandboxRuntime]:
    with HttpEgressGuard() as guard:
        rt = SandboxRuntime(
            [result.path for result in built.values()],
            cache_dir=fixtures() / "sandbox-compile-cache",
            egress_guard=guard,
        )
        yield rt
        rt.close()


def run(rt: SandboxRuntime, tool: str, grant: Capabilities | None = None, **args: Any) -> Any:
    result = rt.invoke(ToolCall(id="t1", tool=tool, arguments=args), grant or Capabilities())
    assert result.error is None, result.error
    return result.content[0].model_dump()["data"]


def error_code(
    rt: SandboxRuntime, tool: str, grant: Capabilities | None = None, **args: Any
) -> str:
    result = rt.invoke(ToolCall(id="t1", tool=tool, arguments=args), grant or Capabilities())
    assert result.error is not None
    return result.error.code


def test_every_example_serves_its_manifest(
    built: dict[str, BuildResult], runtime: SandboxRuntime
) -> None:
    served = {spec.name: spec for spec in runtime.list_tools()}
    for result in built.values():
        for spec in result.manifest.tools:
            # What the sandbox got from describe() is what the build embedded.
            assert served[spec.name] == spec
        # The cache entry never changes once written, so this is the file the sandbox read.
        assert runtime.component_hash(result.manifest.tools[0].name) == result.sha256


def test_calculator(runtime: SandboxRuntime) -> None:
    assert run(runtime, "calculate", expression="2 * (3 + 4) ** 2 / sqrt(16)") == {"result": 24.5}
    assert error_code(runtime, "calculate", expression="__import__('os')") == (
        "tool.invalid_expression"
    )
    assert error_code(runtime, "calculate", expression="1/0") == "tool.invalid_expression"
    assert error_code(runtime, "calculate", expression="") == "tool.invalid_arguments"


def test_json_query(runtime: SandboxRuntime) -> None:
    document = '{"store": {"book": [{"title": "A", "price": 3}, {"title": "B"}]}}'
    assert run(runtime, "json_query", document=document, path="$.store.book[*].title") == {
        "result": ["A", "B"]
    }
    assert run(runtime, "json_query", document=document, path="$..price") == {"result": [3]}
    assert error_code(runtime, "json_query", document="{", path="$") == "tool.invalid_json"


def test_csv_summary(runtime: SandboxRuntime) -> None:
    out = run(runtime, "csv_summary", csv_text="city,people\nOslo,700\nBergen,290\nOslo,\n")
    assert out["rows"] == 3
    city, people = out["columns"]
    assert city["kind"] == "text"
    assert city["top"][0] == "Oslo"
    assert people["kind"] == "integer"
    assert people["missing"] == 1
    assert people["mean"] == 495.0


def test_search_files_under_the_granted_folder(runtime: SandboxRuntime, tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text("alpha\nthe needle is here\n")
    (tmp_path / "b.txt").write_text("no match\n")
    grant = Capabilities(filesystem=(PathAccess(guest_path="/data", host_path=str(tmp_path)),))
    hits = run(runtime, "search_files", grant, pattern="needle")
    assert hits == {"result": [{"path": "/notes/a.md", "line": 2, "text": "the needle is here"}]}
    assert run(runtime, "read_file", grant, path="b.txt") == {"result": "no match\n"}
    assert error_code(runtime, "read_file", grant, path="../etc/passwd") == "tool.outside_root"
    # Without the grant, /data does not exist inside the sandbox.
    assert run(runtime, "list_files", Capabilities()) == {"result": []}


def test_fetch_page_through_the_egress_guard(runtime: SandboxRuntime, server: int) -> None:
    local = NetworkDestination(
        scheme="http", host="127.0.0.1", port=server, address_ranges=("127.0.0.1/32",)
    )
    page = run(
        runtime, "fetch_page", Capabilities(network=(local,)), url=f"http://127.0.0.1:{server}/"
    )
    assert page["title"] == "Hello page"
    assert page["text"] == "Welcome\nPlain & simple."
    assert "alert" not in page["text"]
    # No grant: the egress guard refuses, and the refusal reaches the caller with its code.
    result = runtime.invoke(
        ToolCall(id="t2", tool="fetch_page", arguments={"url": f"http://127.0.0.1:{server}/"}),
        Capabilities(),
    )
    assert result.error is not None
    assert result.error.code.startswith("tool.egress_")
    assert "egress." in result.error.message


def test_requests_beyond_the_grant_are_listed(built: dict[str, BuildResult]) -> None:
    manifest = built["fetch_page"].manifest
    with pytest.raises(AgentorError) as caught:
        check_grant(manifest, Capabilities())
    assert caught.value.code == ToolkitCode.CAPABILITIES_EXCEED_GRANT
    assert "network: GET https://example.com:443/" in caught.value.message
    assert "limits.http_requests" not in caught.value.message
    check_grant(built["calculator"].manifest, Capabilities())


def test_signed_example_verifies_against_what_the_sandbox_loaded(
    built: dict[str, BuildResult], runtime: SandboxRuntime, tmp_path: Path
) -> None:
    component = tmp_path / "calculator.wasm"
    component.write_bytes(built["calculator"].path.read_bytes())
    private, public, _ = keygen(tmp_path / "key")
    sign(component, private)
    served = next(spec for spec in runtime.list_tools() if spec.name == "calculate")
    verified = verify(component, TrustStore.from_paths([public]))
    assert verified.manifest.tools == (served,)
