"""Which model to talk to: a ``[model]`` table, or the ``AGENTOR_MODEL`` environment variable.

API keys are never written in a configuration file: the file names the
environment variable that holds the key, so an agent file can be shared and
committed without a secret in it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from agentor_core.errors import AgentorError
from agentor_llm.errors import LlmCode

ENV_MODEL: Final = "AGENTOR_MODEL"

HOW_TO_CONFIGURE: Final = (
    "set a model in the agent file, e.g.\n"
    '  [model]\n  provider = "openai"          # or "anthropic", "ollama", "scripted"\n'
    '  name = "gpt-4o-mini"\n'
    "and export its key (OPENAI_API_KEY or ANTHROPIC_API_KEY); or set "
    f"{ENV_MODEL}=openai:gpt-4o-mini, {ENV_MODEL}=anthropic:claude-sonnet-4-5, "
    f"{ENV_MODEL}=ollama:llama3.2 (local, no key) or {ENV_MODEL}=scripted:turns.toml (offline)"
)


class ProviderKind(StrEnum):
    OPENAI = "openai"
    """Any OpenAI-compatible Chat Completions endpoint (base_url selects which)."""
    ANTHROPIC = "anthropic"
    OLLAMA = "ollama"
    """OpenAI-compatible, defaulting to a local Ollama at http://127.0.0.1:11434/v1, no key."""
    SCRIPTED = "scripted"


_DEFAULTS: Final = {
    ProviderKind.OPENAI: ("https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL"),
    ProviderKind.ANTHROPIC: (
        "https://api.anthropic.com/v1",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
    ),
    ProviderKind.OLLAMA: ("http://127.0.0.1:11434/v1", None, "OLLAMA_BASE_URL"),
}
_EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]


class ModelConfig(BaseModel):
    """The ``[model]`` table of an agent file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: ProviderKind
    name: Annotated[str, Field(min_length=1, max_length=256)] = "scripted"
    base_url: Annotated[str, Field(max_length=2048)] | None = None
    api_key_env: _EnvName | None = None
    """The environment variable holding the key (default: the vendor's usual one)."""
    script: Annotated[str, Field(max_length=4096)] | None = None
    """For ``scripted``: the TOML or JSON file of turns, relative to the agent file."""
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    max_retry_wait_s: Annotated[float, Field(ge=0, le=600)] = 30.0
    max_response_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 16 * 1024 * 1024
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    max_output_tokens: Annotated[int, Field(ge=1, le=1_000_000)] = 4096


def model_from_env(environ: Mapping[str, str] | None = None) -> ModelConfig | None:
    """``AGENTOR_MODEL=provider:name`` as a :class:`ModelConfig`, or ``None`` if unset."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_MODEL, "").strip()
    if not raw:
        return None
    provider, sep, name = raw.partition(":")
    try:
        kind = ProviderKind(provider.strip().lower())
    except ValueError:
        raise AgentorError(
            LlmCode.CONFIG_INVALID,
            f"{ENV_MODEL}={raw[:100]!r}: unknown provider {provider[:40]!r}",
            hint=HOW_TO_CONFIGURE,
        ) from None
    if not sep or not name.strip():
        raise AgentorError(
            LlmCode.CONFIG_INVALID,
            f"{ENV_MODEL}={raw[:100]!r} names no model",
            hint=HOW_TO_CONFIGURE,
        )
    name = name.strip()
    if kind is ProviderKind.SCRIPTED:
        return ModelConfig(provider=kind, script=name)
    return ModelConfig(provider=kind, name=name)


def parse_model_config(document: object, *, source: str) -> ModelConfig:
    try:
        return ModelConfig.model_validate(document)
    except ValidationError as exc:
        detail = exc.errors()[0]
        where = ".".join(str(p) for p in detail["loc"])
        raise AgentorError(
            LlmCode.CONFIG_INVALID,
            f"{source}: [model] {where}: {detail['msg'][:200]}",
            hint=HOW_TO_CONFIGURE,
        ) from None


def http_settings(
    config: ModelConfig, environ: Mapping[str, str] | None = None
) -> tuple[str, SecretStr | None]:
    """The base URL and key for ``config``; refuses a hosted endpoint with no key."""
    env = os.environ if environ is None else environ
    default_url, default_key_env, url_env = _DEFAULTS[config.provider]
    base_url = config.base_url or env.get(url_env) or default_url
    key_env = config.api_key_env or default_key_env
    key = env.get(key_env) if key_env else None
    hosted = base_url.rstrip("/") == default_url and config.provider is not ProviderKind.OLLAMA
    if hosted and not key:
        raise AgentorError(
            LlmCode.NOT_CONFIGURED,
            f"the {config.provider.value} model {config.name!r} needs an API key in "
            f"${key_env}, which is not set",
            hint=f"export {key_env}=... (never write the key in the agent file); "
            + HOW_TO_CONFIGURE,
        )
    return base_url, SecretStr(key) if key else None


def resolve_script(config: ModelConfig, base_dir: Path) -> Path:
    if not config.script:
        raise AgentorError(
            LlmCode.NOT_CONFIGURED,
            "a scripted model needs a script file",
            hint='set [model] script = "turns.toml" (a file of [[turns]])',
        )
    path = Path(config.script)
    return path if path.is_absolute() else base_dir / path
