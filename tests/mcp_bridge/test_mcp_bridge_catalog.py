"""Resources, prompts, completion, content tools and log forwarding, through the SDK Client."""

from __future__ import annotations

import base64
import logging
import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from agentor_core.tools import ToolCall, ToolSpec
from agentor_mcp import (
    McpCode,
    PromptBook,
    PromptEntry,
    ResourcesSection,
    ResourceStore,
    Toolbox,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
TOOL_LOG = logging.getLogger("tests.mcp_bridge.tool")


def run(coro_fn: Any) -> Any:
    return anyio.run(coro_fn)


@pytest.fixture
def store(tmp_path: Path) -> ResourceStore:
    root = tmp_path / "res"
    (root / "pages").mkdir(parents=True)
    (root / "hello.txt").write_text("hello from a file")
    (root / "pixel.png").write_bytes(PNG)
    (root / "pages" / "intro.md").write_text("# intro")
    (root / "big.txt").write_text("x" * 200)
    (tmp_path / "secret.txt").write_text("outside the root")
    (root / "pages" / "leak.md").symlink_to(tmp_path / "secret.txt")
    section = ResourcesSection.model_validate(
        {
            "root": "res",
            "max_bytes": 100,
            "files": [
                {"uri": "doc://hello", "file": "hello.txt", "name": "hello"},
                {
                    "uri": "doc://pixel",
                    "file": "pixel.png",
                    "name": "pixel",
                    "mime_type": "image/png",
                },
                {"uri": "doc://big", "file": "big.txt", "name": "big"},
                {"uri": "doc://escape", "file": "../secret.txt", "name": "escape"},
            ],
            "templates": [
                {
                    "uri_template": "doc://pages/{page}",
                    "file": "pages/{page}.md",
                    "name": "page",
                    "mime_type": "text/markdown",
                    "values": {"page": ["intro", "index", "leak"]},
                }
            ],
        }
    )
    return ResourceStore(section, tmp_path)


@pytest.fixture
def book(store: ResourceStore) -> PromptBook:
    prompts = [
        PromptEntry.model_validate(
            {
                "name": "greet",
                "description": "Greets someone.",
                "arguments": [
                    {"name": "who", "required": True, "max_length": 20, "values": ["ada", "alan"]},
                    {"name": "tone"},
                ],
                "messages": [{"text": "Say hello to {who} in a {tone} tone. {not_a_var"}],
            }
        ),
        PromptEntry.model_validate(
            {
                "name": "look",
                "arguments": [{"name": "uri", "required": True}],
                "messages": [
                    {"image": "pixel.png", "mime_type": "image/png"},
                    {"resource_uri": "{uri}", "text": "embedded body"},
                ],
            }
        ),
    ]
    return PromptBook(tuple(prompts), store)


def test_resources_list_and_read(parts: Any, store: ResourceStore) -> None:
    bridge = parts.bridge(resources=store)

    async def main() -> tuple[Any, ...]:
        async with Client(bridge.server) as client:
            listed = await client.list_resources()
            templates = await client.list_resource_templates()
            text = await client.read_resource("doc://hello")
            blob = await client.read_resource("doc://pixel")
            page = await client.read_resource("doc://pages/intro")
            return listed, templates, text, blob, page

    listed, templates, text, blob, page = run(main)
    assert [r.uri for r in listed.resources] == [
        "doc://hello",
        "doc://pixel",
        "doc://big",
        "doc://escape",
    ]
    assert templates.resource_templates[0].uri_template == "doc://pages/{page}"
    assert text.contents[0].text == "hello from a file"
    assert base64.b64decode(blob.contents[0].blob) == PNG
    assert blob.contents[0].mime_type == "image/png"
    assert page.contents[0].text == "# intro"


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("doc://missing", McpCode.RESOURCE_NOT_FOUND),
        ("doc://escape", McpCode.RESOURCE_NOT_FOUND),  # "../" in the operator's file
        ("doc://pages/leak", McpCode.RESOURCE_NOT_FOUND),  # a symlink out of the root
        ("doc://pages/..", McpCode.RESOURCE_NOT_FOUND),  # not a variable value
        ("doc://pages/../../secret", McpCode.RESOURCE_NOT_FOUND),
        ("doc://pages/a%2F..%2F..%2Fsecret", McpCode.RESOURCE_NOT_FOUND),
        ("doc://big", McpCode.RESOURCE_TOO_LARGE),
    ],
)
def test_resource_reads_outside_the_root_or_too_large_are_refused(
    parts: Any, store: ResourceStore, uri: str, code: McpCode
) -> None:
    bridge = parts.bridge(resources=store)

    async def main() -> str:
        async with Client(bridge.server) as client:
            with pytest.raises(MCPError) as caught:
                await client.read_resource(uri)
            return str(caught.value)

    message = run(main)
    assert str(code) in message
    assert "outside the root" not in message  # never the file's content


def test_no_resources_section_serves_nothing(parts: Any) -> None:
    bridge = parts.bridge()

    async def main() -> Any:
        async with Client(bridge.server) as client:
            listed = await client.list_resources()
            with pytest.raises(MCPError):
                await client.read_resource("file:///etc/passwd")
            return listed

    assert run(main).resources == []


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
def test_subscribe_and_unsubscribe_answer_empty(parts: Any, store: ResourceStore) -> None:
    bridge = parts.bridge(resources=store)

    async def main() -> None:
        async with Client(bridge.server, mode="legacy") as client:
            await client.subscribe_resource("doc://hello")
            await client.unsubscribe_resource("doc://hello")

    run(main)


def test_prompts_substitute_declared_arguments_only(parts: Any, book: PromptBook) -> None:
    bridge = parts.bridge(prompts=book)

    async def main() -> tuple[Any, Any, Any]:
        async with Client(bridge.server) as client:
            listed = await client.list_prompts()
            greet = await client.get_prompt("greet", {"who": "{tone}", "tone": "warm"})
            look = await client.get_prompt("look", {"uri": "doc://x"})
            return listed, greet, look

    listed, greet, look = run(main)
    assert [p.name for p in listed.prompts] == ["greet", "look"]
    assert [(a.name, a.required) for a in listed.prompts[0].arguments] == [
        ("who", True),
        ("tone", False),
    ]
    # One pass of substitution: a value that looks like a placeholder stays literal.
    assert greet.messages[0].content.text == "Say hello to {tone} in a warm tone. {not_a_var"
    image, resource = look.messages
    assert base64.b64decode(image.content.data) == PNG
    assert resource.content.resource.uri == "doc://x"
    assert resource.content.resource.text == "embedded body"


@pytest.mark.parametrize(
    ("name", "arguments", "needle"),
    [
        ("nope", {}, "no prompt named"),
        ("greet", {}, "needs the argument 'who'"),
        ("greet", {"who": "x", "extra": "y"}, "has no argument 'extra'"),
        ("greet", {"who": "x" * 21}, "longer than 20"),
    ],
)
def test_bad_prompt_requests_are_refused(
    parts: Any, book: PromptBook, name: str, arguments: dict[str, str], needle: str
) -> None:
    bridge = parts.bridge(prompts=book)

    async def main() -> str:
        async with Client(bridge.server) as client:
            with pytest.raises(MCPError) as caught:
                await client.get_prompt(name, arguments)
            return str(caught.value)

    message = run(main)
    assert McpCode.PROMPT_INVALID in message
    assert needle in message


def test_completion_offers_declared_values_by_prefix(
    parts: Any, book: PromptBook, store: ResourceStore
) -> None:
    bridge = parts.bridge(prompts=book, resources=store)

    async def main() -> list[list[str]]:
        async with Client(bridge.server) as client:
            prompt = types.PromptReference(name="greet")
            template = types.ResourceTemplateReference(uri="doc://pages/{page}")
            found = [
                await client.complete(prompt, {"name": "who", "value": "a"}),
                await client.complete(prompt, {"name": "who", "value": "al"}),
                await client.complete(prompt, {"name": "tone", "value": ""}),
                await client.complete(types.PromptReference(name="x"), {"name": "a", "value": ""}),
                await client.complete(template, {"name": "page", "value": "in"}),
            ]
            return [r.completion.values for r in found]

    assert run(main) == [["ada", "alan"], ["alan"], [], [], ["intro", "index"]]


@pytest.mark.parametrize(
    "document",
    [
        {"content": [{"type": "text", "text": "hi"}, {"type": "html", "text": "<b>"}]},
        {"content": [{"type": "image", "data": "not base64!", "mime_type": "image/png"}]},
        {"content": "text"},
        {"content": [], "extra": 1},
        {"text": "no envelope"},
    ],
)
def test_content_tool_output_must_be_valid_blocks(parts: Any, document: Any) -> None:
    parts.runtime.tools["shaped"] = (ToolSpec(name="shaped"), lambda _c, _r: document)
    parts.policy.rules["shaped"] = parts.policy.rules["plain"]
    bridge = parts.bridge(content_tools={"shaped"})

    async def main() -> types.CallToolResult:
        async with Client(bridge.server) as client:
            return await client.call_tool("shaped", {})

    result = run(main)
    assert result.is_error
    assert result.meta is not None
    assert result.meta["io.agentor/error"]["code"] == McpCode.INVALID_RESULT


def test_content_tool_returns_its_blocks(parts: Any) -> None:
    data = base64.b64encode(PNG).decode()
    document = {
        "content": [
            {"type": "text", "text": "look:"},
            {"type": "image", "data": data, "mime_type": "image/png"},
            {"type": "resource", "uri": "doc://r", "mime_type": "text/plain", "text": "body"},
        ]
    }
    parts.runtime.tools["shaped"] = (ToolSpec(name="shaped"), lambda _c, _r: document)
    parts.policy.rules["shaped"] = parts.policy.rules["plain"]
    bridge = parts.bridge(content_tools={"shaped"})

    async def main() -> types.CallToolResult:
        async with Client(bridge.server) as client:
            return await client.call_tool("shaped", {})

    result = run(main)
    assert not result.is_error
    kinds = [block.type for block in result.content]
    assert kinds == ["text", "image", "resource"]
    assert result.content[1].data == data
    assert parts.audit.types[-1] == "result"


def _logging_tool(call: ToolCall, _rt: Any) -> Any:
    for level, text in ((logging.DEBUG, "debug line"), (logging.INFO, "info line")):
        TOOL_LOG.log(level, "tool log %r", text, extra={"call_id": call.id})
    TOOL_LOG.warning("tool log %r", "\x1b[31mred", extra={"call_id": call.id})
    TOOL_LOG.info("no call id here")
    return {"ok": True}


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
@pytest.mark.parametrize(("level", "expected"), [("debug", 3), ("info", 2), ("error", 0)])
def test_tool_logs_are_forwarded_at_or_above_the_clients_level(
    parts: Any, level: types.LoggingLevel, expected: int
) -> None:
    parts.runtime.tools["chatty"] = (ToolSpec(name="chatty"), _logging_tool)
    parts.policy.rules["chatty"] = parts.policy.rules["plain"]
    bridge = parts.bridge()
    handler = bridge.log_handler()
    TOOL_LOG.addHandler(handler)
    TOOL_LOG.setLevel(logging.DEBUG)
    received: list[types.LoggingMessageNotificationParams] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        received.append(params)

    async def main() -> types.CallToolResult:
        async with Client(bridge.server, mode="legacy", logging_callback=on_log) as client:
            await client.set_logging_level(level)
            return await client.call_tool("chatty", {})

    try:
        result = run(main)
    finally:
        TOOL_LOG.removeHandler(handler)
    assert not result.is_error
    assert len(received) == expected
    if expected:
        assert received[-1].level == "warning"
        # The escape arrives quoted (repr), inert in a terminal.
        assert "\x1b" not in str(received[-1].data)


def test_template_variables_must_match_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        ResourcesSection.model_validate(
            {
                "root": ".",
                "templates": [{"uri_template": "x://{a}", "file": "{b}.txt", "name": "t"}],
            }
        )
    with pytest.raises(ValidationError):
        PromptEntry.model_validate({"name": "p", "messages": [{"text": "{undeclared}"}]})


def test_a_call_runs_on_the_toolbox_it_started_with(parts: Any) -> None:
    started = threading.Event()
    release = threading.Event()

    def slow(_call: ToolCall, _rt: Any) -> Any:
        started.set()
        release.wait(10)
        return {"from": "old"}

    parts.runtime.tools["slow"] = (ToolSpec(name="slow"), slow)
    parts.policy.rules["slow"] = parts.policy.rules["plain"]
    bridge = parts.bridge()
    # The new toolbox's policy denies everything and its runtime serves nothing.
    empty = type(parts.runtime)({})
    replacement = Toolbox(runtime=empty, policy=type(parts.policy)({}))

    async def main() -> tuple[types.CallToolResult, types.CallToolResult]:
        async with Client(bridge.server) as client:
            results: list[types.CallToolResult] = []

            async def first() -> None:
                results.append(await client.call_tool("slow", {}))

            async with anyio.create_task_group() as group:
                group.start_soon(first)
                await anyio.to_thread.run_sync(started.wait, 10)
                bridge.replace_toolbox(replacement)
                release.set()
            second = await client.call_tool("slow", {})
            return results[0], second

    old, new = run(main)
    assert not old.is_error
    assert old.structured_content is None
    assert '"old"' in old.content[0].text
    assert new.is_error
    assert empty.calls == []


def test_capabilities_announce_list_changed_on_every_transport(parts: Any) -> None:
    # The HTTP app answers initialize from the server's default options.
    capabilities = parts.bridge().server.create_initialization_options().capabilities
    assert capabilities.tools is not None
    assert capabilities.tools.list_changed is True
    assert capabilities.prompts is not None
    assert capabilities.prompts.list_changed is True
    assert capabilities.resources is not None
    assert capabilities.resources.list_changed is True
    assert capabilities.logging is not None
    assert capabilities.completions is not None
