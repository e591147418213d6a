"""Fixtures for the egress tests: real servers on 127.0.0.1 (see egress_servers.py)."""

from __future__ import annotations

import importlib.util
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _load_servers() -> Any:
    name = "egress_servers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("egress_servers.py")
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


servers = _load_servers()


@pytest.fixture(scope="session")
def server() -> Iterator[Any]:
    with servers.serve() as running:
        yield running


@pytest.fixture(scope="session")
def other_server() -> Iterator[Any]:
    with servers.serve() as running:
        yield running


@pytest.fixture(scope="session")
def tls() -> Iterator[tuple[Any, ssl.SSLContext]]:
    """An HTTPS server whose certificate names api.test, and a client context trusting its CA."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.test").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with servers.serve(server_context) as running:
        yield running, client_context
