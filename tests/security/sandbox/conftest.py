from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The fixture builders live beside the package's own tests.
sys.path.insert(0, str(Path(__file__).parents[2] / "sandbox"))

from sandbox_fixtures import build_pytool, compile_cache_dir

from agentor_sandbox import SandboxRuntime


@pytest.fixture(scope="session")
def pytool_runtime_sec() -> Iterator[SandboxRuntime]:
    runtime = SandboxRuntime([build_pytool()], cache_dir=compile_cache_dir())
    yield runtime
    runtime.close()


@pytest.fixture
def corpus_runtime(tmp_path: Path) -> Iterator[SandboxRuntime]:
    rt = SandboxRuntime(cache_dir=tmp_path / "cache")
    yield rt
    rt.close()
