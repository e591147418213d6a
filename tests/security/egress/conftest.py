"""The egress servers of tests/egress, shared by path (test folders are not packages)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _load_servers() -> Any:
    name = "egress_servers"
    if name not in sys.modules:
        path = Path(__file__).parents[2] / "egress" / "egress_servers.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


servers = _load_servers()


@pytest.fixture(scope="session")
def ssrf_server() -> Iterator[Any]:
    with servers.serve() as running:
        yield running
