"""``agentor run --model openai:NAME`` end to end against a local Chat Completions server.

The server on 127.0.0.1 speaks OpenAI's Chat Completions wire format (JSON and
server-sent events, tool calls, usage) and plays a model: it reads the tools and
messages of each request and answers with the next step. Everything else is
real: the CLI, agentor-llm-providers' OpenAI provider (from OPENAI_BASE_URL and
OPENAI_API_KEY), the sandbox, the policy (plan-then-execute: ``flow.off_plan``)
and the audit log.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agentor_cli.app import cli
from agentor_cli.commands.serve import DEFAULTS_DIR

POLICY = """
version = 1

[flow]
untrusted_to_sink = "deny"
off_plan = "ask"

[[tool]]
id = "clock"
name = "clock"

[[tool]]
id = "echo"
name = "echo"
[tool.args.text]
type = "string"
[tool.sink]
args = ["text"]
"""

TOOLBOX = f"""
version = 1
[policy]
file = "policy.toml"
[audit]
path = "audit"

[[tools]]
file = "{DEFAULTS_DIR / "tools" / "echo.wasm"}"
name = "echo"
description = "Says the text out loud (a sink)."
input_schema = {{ type = "object", properties = {{ text = {{ type = "string" }} }} }}

[[tools]]
file = "{DEFAULTS_DIR / "tools" / "clock.wasm"}"
name = "clock"
input_schema = {{ type = "object", properties = {{}} }}
"""


@dataclass
class Played:
    """What the fake model does: its plan (or none), then clock, then echo, then an answer."""

    plan: list[str] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def _step(played: Played, body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The next move, from the conversation so far: ``(text, tool call or None)``."""
    wire = {t["function"]["name"]: t["function"] for t in body.get("tools", [])}
    plan_wire = next((n for n, f in wire.items() if "Declare the tools" in f["description"]), None)
    done = [m for m in body["messages"] if m["role"] == "tool"]
    moves: list[tuple[str, dict[str, Any]]] = []
    if played.plan is not None and plan_wire is not None:
        moves.append((plan_wire, {"tools": played.plan}))
    moves += [("clock", {}), ("echo", {"text": "Hello Ada"})]
    if len(done) < len(moves):
        name, arguments = moves[len(done)]
        return "", {"name": name, "arguments": json.dumps(arguments)}
    last = done[-1]["content"] if done else ""
    return ("Done." if "Hello Ada" in last else "Refused."), None


class ChatServer:
    def __init__(self, played: Played) -> None:
        self.played = played
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *_args: object) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                owner.played.requests.append(body)
                owner.played.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path != "/v1/chat/completions":
                    self.send_response(404)
                    self.end_headers()
                    return
                text, call = _step(owner.played, body)
                self.send_response(200)
                if body.get("stream"):
                    self.send_header("content-type", "text/event-stream")
                    self.end_headers()
                    for chunk in _chunks(text, call):
                        self.wfile.write(f"data: {chunk}\n\n".encode())
                        self.wfile.flush()
                    return
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(_completion(text, call)).encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"


def _tool_call(call: dict[str, Any], count: int) -> dict[str, Any]:
    return {"id": f"call_{count}", "type": "function", "function": call}


def _completion(text: str, call: dict[str, Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if call is not None:
        message["tool_calls"] = [_tool_call(call, 1)]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "local-test-model",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if call else "stop",
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
    }


def _chunks(text: str, call: dict[str, Any] | None) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        document = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": "local-test-model",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return json.dumps(document)

    yield chunk({"role": "assistant", "content": ""})
    for word in text.split(" ") if text else []:
        yield chunk({"content": word})
    if call is not None:
        head = {"index": 0, "id": "call_1", "type": "function"}
        yield chunk({"tool_calls": [{**head, "function": {"name": call["name"], "arguments": ""}}]})
        arguments = call["arguments"]
        half = len(arguments) // 2
        for part in (arguments[:half], arguments[half:]):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
    yield chunk({}, "tool_calls" if call else "stop")
    usage = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    yield json.dumps(
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": usage}
    )
    yield "[DONE]"


@pytest.fixture
def server() -> Iterator[ChatServer]:
    chat = ChatServer(Played())
    chat.thread.start()
    try:
        yield chat
    finally:
        chat.httpd.shutdown()
        chat.httpd.server_close()


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: ChatServer) -> None:
    monkeypatch.setenv("AGENTOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AGENTOR_MODEL", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")


def agent_file(tmp_path: Path, *, plan: bool) -> Path:
    (tmp_path / "policy.toml").write_text(POLICY)
    (tmp_path / "agentor.toml").write_text(TOOLBOX)
    text = '[agent]\nname = "greeter"\ntools = ["echo", "clock"]\ntoolbox = "agentor.toml"\n'
    if plan:
        text += 'plan = "tools"\n'
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def invoke(path: Path, *extra: str, answer: str = "") -> Any:
    return CliRunner().invoke(
        cli,
        [
            "run",
            str(path),
            'Tell me the time, then say "Hello Ada"',
            "--model",
            "openai:local-model",
            *extra,
        ],
        input=answer,
    )


@pytest.mark.parametrize("streaming", [True, False])
def test_run_with_an_openai_model_calls_tools_end_to_end(
    tmp_path: Path, server: ChatServer, streaming: bool
) -> None:
    server.played.plan = ["clock", "echo"]
    result = invoke(
        agent_file(tmp_path, plan=True), "--json", *(() if streaming else ("--no-stream",))
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["answer"] == "Done."
    steps = [(d["tool"], d["verdict"], d["rule_id"], d["ran"]) for d in document["decisions"]]
    assert steps == [
        ("plan.declare", "allow", "runtime.plan", True),
        ("clock", "allow", "clock", True),
        ("echo", "allow", "echo", True),
    ]
    assert document["summary"]["tokens"] == {"input": 44, "output": 12}
    requests = server.played.requests
    assert len(requests) == 4
    assert all(r["model"] == "local-model" for r in requests)
    assert all(r.get("stream", False) is streaming for r in requests)
    assert all(h["authorization"] == "Bearer sk-local-test" for h in server.played.headers)
    # Tool output went back delimited and labelled, as tool messages bound to the call ids.
    last = requests[-1]["messages"]
    tool_messages = [m for m in last if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_1"] * 3
    assert 'trust="untrusted"' in tool_messages[1]["content"]
    assert "plan.declare" in last[0]["content"]


def test_a_tool_outside_the_declared_plan_is_asked_about(
    tmp_path: Path, server: ChatServer
) -> None:
    server.played.plan = ["clock"]
    refused = invoke(agent_file(tmp_path, plan=True), "--json", answer="no\n")
    assert refused.exit_code == 0, refused.output
    document = json.loads(refused.stdout)
    steps = [(d["tool"], d["verdict"], d["rule_id"], d["ran"]) for d in document["decisions"]]
    assert steps == [
        ("plan.declare", "allow", "runtime.plan", True),
        ("clock", "allow", "clock", True),
        ("echo", "ask", "flow.off_plan", False),
    ]
    assert document["answer"] == "Refused."
    assert document["summary"]["approvals_asked"] == 1
    approved = invoke(agent_file(tmp_path, plan=True), "--json", answer="yes\n")
    assert json.loads(approved.stdout)["decisions"][-1]["ran"] is True


def test_without_plan_mode_the_same_model_is_not_asked(tmp_path: Path, server: ChatServer) -> None:
    result = invoke(agent_file(tmp_path, plan=False), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [d["tool"] for d in document["decisions"]] == ["clock", "echo"]
    assert document["summary"]["approvals_asked"] == 0
    assert "plan.declare" not in json.dumps(server.played.requests[0]["tools"])


def test_a_missing_key_for_the_hosted_endpoint_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    result = invoke(agent_file(tmp_path, plan=False), "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "llm.not_configured"
    assert "OPENAI_API_KEY" in error["message"]


@pytest.mark.parametrize(
    ("flag", "verdict", "rule_id"),
    [((), "allow", "echo"), (("--off-plan",), "ask", "flow.off_plan")],
)
def test_policy_explain_takes_off_plan(
    tmp_path: Path, flag: tuple[str, ...], verdict: str, rule_id: str
) -> None:
    (tmp_path / "policy.toml").write_text(POLICY)
    result = CliRunner().invoke(
        cli,
        [
            "policy",
            "explain",
            str(tmp_path / "policy.toml"),
            "--tool",
            "echo",
            "--args",
            '{"text": "hi"}',
            "--labels",
            "text=user",
            "--context-labels",
            "untrusted_tool",
            *flag,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)["decision"]
    assert (decision["verdict"], decision["rule_id"]) == (verdict, rule_id)


ANSWER_RULE = """
[[tool]]
id = "answer"
name = "agent.answer"
untrusted_to_sink = "ask"
[tool.args.text]
type = "string"
[tool.sink]
args = ["text"]
external = false
"""


@pytest.mark.parametrize("streaming", [True, False])
def test_a_streamed_answer_waits_for_the_policy(
    tmp_path: Path, server: ChatServer, streaming: bool
) -> None:
    # The answer is written after the clock's (untrusted) output: the strict rule asks.
    path = agent_file(tmp_path, plan=False)
    path.write_text(path.read_text().replace("[agent]\n", '[agent]\nanswer = "policy"\n'))
    (tmp_path / "policy.toml").write_text(POLICY + ANSWER_RULE)
    stream = () if streaming else ("--no-stream",)
    withheld = invoke(path, *stream, answer="no\n")
    assert withheld.exit_code == 1
    assert "Done." not in withheld.stdout
    assert "runtime.answer_withheld" in withheld.stderr
    released = invoke(path, *stream, answer="yes\n")
    assert released.exit_code == 0, released.output
    assert released.stdout.count("Done.") == 1
    assert "agent.answer: release this answer to the user?" in released.stderr
