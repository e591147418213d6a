"""Fixtures for the provider tests: a real HTTP server on 127.0.0.1 (see llm_server.py)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _load_server_module() -> Any:
    name = "llm_server"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("llm_server.py")
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


llm_server = _load_server_module()


@pytest.fixture(scope="session")
def _running_server() -> Iterator[Any]:
    with llm_server.LlmServer() as running:
        yield running


@pytest.fixture
def server(_running_server: Any) -> Any:
    # One server for the session (its shutdown polls); a clean queue for each test.
    _running_server.replies.clear()
    _running_server.requests.clear()
    return _running_server


@pytest.fixture
def sleeps() -> Any:
    return llm_server.Sleeps()


@pytest.fixture
def reply() -> Any:
    return llm_server.Reply
