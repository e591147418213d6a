"""Building a provider from configuration; also the ``agentor.llm_provider`` entry points."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from agentor_core.errors import AgentorError
from agentor_core.interfaces import LlmProvider
from agentor_llm.anthropic import AnthropicProvider
from agentor_llm.config import (
    HOW_TO_CONFIGURE,
    ModelConfig,
    ProviderKind,
    http_settings,
    resolve_script,
)
from agentor_llm.errors import LlmCode
from agentor_llm.openai import OpenAIChatProvider
from agentor_llm.scripted import ScriptedProvider
from agentor_llm.transport import HttpSettings, Sleep


def settings_for(config: ModelConfig, environ: Mapping[str, str] | None = None) -> HttpSettings:
    base_url, key = http_settings(config, environ)
    return _settings(
        base_url=base_url,
        api_key=key,
        timeout_s=config.timeout_s,
        max_retries=config.max_retries,
        max_retry_wait_s=config.max_retry_wait_s,
        max_response_bytes=config.max_response_bytes,
    )


def _settings(**options: Any) -> HttpSettings:
    try:
        return HttpSettings(**options)
    except ValidationError as exc:
        detail = exc.errors()[0]
        raise AgentorError(
            LlmCode.CONFIG_INVALID,
            f"model endpoint settings: {'.'.join(map(str, detail['loc']))} {detail['msg'][:200]}",
            hint=HOW_TO_CONFIGURE,
        ) from None


def provider_from_config(
    config: ModelConfig,
    *,
    base_dir: Path = Path(),
    environ: Mapping[str, str] | None = None,
    sleep: Sleep = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LlmProvider:
    """The provider ``config`` describes; raises ``llm.not_configured`` saying what is missing."""
    if config.provider is ProviderKind.SCRIPTED:
        return ScriptedProvider.from_file(resolve_script(config, base_dir))
    settings = settings_for(config, environ)
    if config.provider is ProviderKind.ANTHROPIC:
        return AnthropicProvider(settings, sleep=sleep, transport=transport)
    return OpenAIChatProvider(settings, sleep=sleep, transport=transport)


def _options_settings(options: dict[str, Any]) -> HttpSettings:
    key = options.pop("api_key", None)
    if key is not None and not isinstance(key, SecretStr):
        key = SecretStr(str(key))
    return _settings(api_key=key, **options)


def create_openai(**options: Any) -> OpenAIChatProvider:
    """Entry point ``openai``: options are :class:`HttpSettings` fields (``base_url`` required)."""
    return OpenAIChatProvider(_options_settings(options))


def create_anthropic(**options: Any) -> AnthropicProvider:
    """Entry point ``anthropic``: options are :class:`HttpSettings` fields."""
    options.setdefault("base_url", "https://api.anthropic.com/v1")
    return AnthropicProvider(_options_settings(options))


def create_scripted(*, script: str | Path) -> ScriptedProvider:
    """Entry point ``scripted``: ``script`` is a TOML or JSON file of turns."""
    return ScriptedProvider.from_file(Path(script))
