"""Language models for Agentor: OpenAI-compatible, Anthropic, and scripted providers.

Every provider implements :class:`agentor_core.interfaces.LlmProvider`. What a
model answers is a proposal only; the runtime's policy decides what runs.
"""

from __future__ import annotations

from agentor_llm.__about__ import __version__
from agentor_llm.anthropic import AnthropicProvider
from agentor_llm.config import (
    ENV_MODEL,
    HOW_TO_CONFIGURE,
    ModelConfig,
    ProviderKind,
    model_from_env,
    parse_model_config,
)
from agentor_llm.errors import LlmCode
from agentor_llm.factory import provider_from_config, settings_for
from agentor_llm.openai import OpenAIChatProvider
from agentor_llm.scripted import Script, ScriptedCall, ScriptedProvider, ScriptedTurn, load_script
from agentor_llm.transport import HttpSettings, retry_after_seconds

__all__ = [
    "ENV_MODEL",
    "HOW_TO_CONFIGURE",
    "AnthropicProvider",
    "HttpSettings",
    "LlmCode",
    "ModelConfig",
    "OpenAIChatProvider",
    "ProviderKind",
    "Script",
    "ScriptedCall",
    "ScriptedProvider",
    "ScriptedTurn",
    "__version__",
    "load_script",
    "model_from_env",
    "parse_model_config",
    "provider_from_config",
    "retry_after_seconds",
    "settings_for",
]
