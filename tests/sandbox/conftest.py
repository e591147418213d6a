from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sandbox_fixtures import (
    ECHO_WAT,
    build_generic,
    build_pytool,
    compile_cache_dir,
    wat_file,
)

from agentor_sandbox import SandboxRuntime


@pytest.fixture(scope="session")
def pytool_wasm() -> Path:
    return build_pytool()


@pytest.fixture(scope="session")
def pytool_runtime(pytool_wasm: Path) -> Iterator[SandboxRuntime]:
    runtime = SandboxRuntime([pytool_wasm], cache_dir=compile_cache_dir())
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def generic_wasm() -> Path:
    return build_generic()


@pytest.fixture(scope="session")
def generic_runtime(generic_wasm: Path) -> Iterator[SandboxRuntime]:
    runtime = SandboxRuntime([generic_wasm], cache_dir=compile_cache_dir())
    yield runtime
    runtime.close()


@pytest.fixture
def echo_wasm(tmp_path: Path) -> Path:
    return wat_file(tmp_path, "echo", ECHO_WAT)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[SandboxRuntime]:
    rt = SandboxRuntime(cache_dir=tmp_path / "cache")
    yield rt
    rt.close()
