"""The scripted provider, and model configuration from files and the environment."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agentor_core import discovery
from agentor_core.errors import AgentorError
from agentor_core.interfaces import LlmProvider
from agentor_core.llm import ChatMessage, FinishReason, ModelRequest, Role
from agentor_llm import (
    AnthropicProvider,
    LlmCode,
    ModelConfig,
    OpenAIChatProvider,
    ProviderKind,
    ScriptedProvider,
    model_from_env,
    provider_from_config,
)

SCRIPT = """
[[turns]]
text = "Reading it."
usage = { input_tokens = 10, output_tokens = 3 }
[[turns.tool_calls]]
name = "files.read"
arguments = { path = "a.txt" }

[[turns]]
text = "It says hello."
"""

REQUEST = ModelRequest(model="scripted", messages=(ChatMessage(role=Role.USER, content="go"),))


def write(tmp_path: Path, text: str, name: str = "turns.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_turns_play_back_in_order_then_run_out(tmp_path: Path) -> None:
    llm = ScriptedProvider.from_file(write(tmp_path, SCRIPT))
    assert isinstance(llm, LlmProvider)
    first = asyncio.run(llm.complete(REQUEST))
    assert first.finish_reason is FinishReason.TOOL_CALLS
    assert first.message.tool_calls[0].name == "files.read"
    assert first.message.tool_calls[0].arguments == {"path": "a.txt"}
    assert first.usage.input_tokens == 10
    second = asyncio.run(llm.complete(REQUEST))
    assert second.message.content == "It says hello."
    assert second.finish_reason is FinishReason.STOP
    assert llm.requests == [REQUEST, REQUEST]
    with pytest.raises(AgentorError) as caught:
        asyncio.run(llm.complete(REQUEST))
    assert caught.value.code == LlmCode.SCRIPT_EXHAUSTED


def test_stream_gives_words_calls_and_final(tmp_path: Path) -> None:
    llm = ScriptedProvider.from_file(write(tmp_path, SCRIPT))

    async def collect() -> list[Any]:
        return [delta async for delta in llm.stream(REQUEST)]

    deltas = asyncio.run(collect())
    assert "".join(d.text for d in deltas) == "Reading it."
    assert len([d for d in deltas if d.tool_call]) == 1
    assert deltas[-1].final is not None


def test_json_scripts_work_too(tmp_path: Path) -> None:
    path = write(tmp_path, '{"turns": [{"text": "hi"}]}', "turns.json")
    assert asyncio.run(ScriptedProvider.from_file(path).complete(REQUEST)).message.content == "hi"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "turns = 3",
        "[[turns]]\ntext = 1",
        '[[turns]]\n[[turns.tool_calls]]\nname = "bad name!"',
        "[[turns]]\nsurprise = true",
        "not toml at all [",
    ],
)
def test_invalid_scripts_fail_with_their_code(tmp_path: Path, text: str) -> None:
    with pytest.raises(AgentorError) as caught:
        ScriptedProvider.from_file(write(tmp_path, text))
    assert caught.value.code == LlmCode.SCRIPT_INVALID


def test_missing_script_file(tmp_path: Path) -> None:
    with pytest.raises(AgentorError) as caught:
        ScriptedProvider.from_file(tmp_path / "nope.toml")
    assert caught.value.code == LlmCode.SCRIPT_INVALID


def test_model_from_env() -> None:
    assert model_from_env({}) is None
    config = model_from_env({"AGENTOR_MODEL": "ollama:llama3.2"})
    assert config == ModelConfig(provider=ProviderKind.OLLAMA, name="llama3.2")
    scripted = model_from_env({"AGENTOR_MODEL": "scripted:turns.toml"})
    assert scripted is not None
    assert scripted.script == "turns.toml"
    for bad in ("gpt-4o", "martian:x", "openai:"):
        with pytest.raises(AgentorError) as caught:
            model_from_env({"AGENTOR_MODEL": bad})
        assert caught.value.code == LlmCode.CONFIG_INVALID


def test_hosted_model_without_key_says_how_to_configure() -> None:
    config = ModelConfig(provider=ProviderKind.OPENAI, name="gpt-4o-mini")
    with pytest.raises(AgentorError) as caught:
        provider_from_config(config, environ={})
    assert caught.value.code == LlmCode.NOT_CONFIGURED
    assert "OPENAI_API_KEY" in caught.value.message
    assert caught.value.hint is not None
    assert "AGENTOR_MODEL" in caught.value.hint


def test_providers_from_config(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-1", "ANTHROPIC_API_KEY": "sk-2"}
    openai = provider_from_config(ModelConfig(provider=ProviderKind.OPENAI, name="m"), environ=env)
    assert isinstance(openai, OpenAIChatProvider)
    anthropic = provider_from_config(
        ModelConfig(provider=ProviderKind.ANTHROPIC, name="m"), environ=env
    )
    assert isinstance(anthropic, AnthropicProvider)
    ollama = provider_from_config(
        ModelConfig(provider=ProviderKind.OLLAMA, name="llama3.2"), environ={}
    )
    assert "11434" in repr(ollama)
    write(tmp_path, SCRIPT)
    scripted = provider_from_config(
        ModelConfig(provider=ProviderKind.SCRIPTED, script="turns.toml"), base_dir=tmp_path
    )
    assert isinstance(scripted, ScriptedProvider)
    assert "sk-1" not in repr(openai)


def test_entry_points_are_advertised(tmp_path: Path) -> None:
    names = {impl.name for impl in discovery.implementations(LlmProvider)}
    assert {"openai", "anthropic", "scripted"} <= names
    path = write(tmp_path, SCRIPT)
    llm = discovery.create(LlmProvider, "scripted", script=str(path))
    assert isinstance(llm, ScriptedProvider)
    remote = discovery.create(LlmProvider, "openai", base_url="http://127.0.0.1:1/v1")
    assert isinstance(remote, OpenAIChatProvider)
