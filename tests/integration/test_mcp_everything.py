"""The everything toolbox (what the MCP conformance suite runs against) with the real parts.

Sandboxed WebAssembly tools reach the client as content blocks, log notifications
and progress notifications; resources come from files under the granted root.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
import wasmtime
from mcp import Client

from agentor_cli.commands.serve import build

TOOLBOX = Path(__file__).resolve().parents[2] / "examples" / "toolboxes" / "everything"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    box = tmp_path / "everything"
    shutil.copytree(TOOLBOX, box)
    served = build(box / "agentor.toml")
    yield served
    served.close()


def test_committed_wasm_matches_its_wat_sources() -> None:
    for source in sorted((TOOLBOX / "tools").glob("*.wat")):
        compiled = bytes(wasmtime.wat2wasm(source.read_text(encoding="utf-8")))
        assert compiled == source.with_suffix(".wasm").read_bytes(), source.name


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
def test_sandboxed_tools_send_content_logs_and_progress(served: Any) -> None:
    logs: list[types.LoggingMessageNotificationParams] = []
    progress: list[float] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params)

    async def on_progress(done: float, _total: float | None, _message: str | None) -> None:
        progress.append(done)

    async def main() -> dict[str, types.CallToolResult]:
        async with Client(served.bridge.server, mode="legacy", logging_callback=on_log) as client:
            await client.set_logging_level("debug")
            results = {
                name: await client.call_tool(name, {})
                for name in (
                    "test_multiple_content_types",
                    "test_audio_content",
                    "test_tool_with_logging",
                    "test_error_handling",
                )
            }
            results["progress"] = await client.call_tool(
                "test_tool_with_progress", {}, progress_callback=on_progress
            )
            return results

    results = anyio.run(main)
    mixed = results["test_multiple_content_types"]
    assert [block.type for block in mixed.content] == ["text", "image", "resource"]
    assert base64.b64decode(mixed.content[1].data).startswith(b"\x89PNG")
    assert results["test_audio_content"].content[0].mime_type == "audio/wav"
    assert [entry.level for entry in logs] == ["info", "info", "info"]
    assert "Tool execution started" in str(logs[0].data)
    assert progress == [0, 50, 100]
    failed = results["test_error_handling"]
    assert failed.is_error
    assert failed.meta is not None
    assert failed.meta["io.agentor/error"]["code"] == "tool.intentional_error"


def test_resources_and_prompts_of_the_toolbox(served: Any) -> None:
    async def main() -> tuple[Any, ...]:
        async with Client(served.bridge.server) as client:
            text = await client.read_resource("test://static-text")
            data = await client.read_resource("test://template/123/data")
            prompt = await client.get_prompt(
                "test_prompt_with_arguments", {"arg1": "one", "arg2": "two"}
            )
            image = await client.get_prompt("test_prompt_with_image")
            return text, data, prompt, image

    text, data, prompt, image = anyio.run(main)
    assert text.contents[0].text == "This is the content of the static text resource."
    assert '"id":"123"' in data.contents[0].text
    assert prompt.messages[0].content.text == "Prompt with arguments: arg1='one', arg2='two'"
    assert image.messages[0].content.type == "image"
