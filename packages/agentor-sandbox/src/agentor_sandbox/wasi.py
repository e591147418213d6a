"""WASI configuration from a grant: nothing ambient, only what was granted."""

from __future__ import annotations

import os
from pathlib import Path

import wasmtime

# wasmtime-py has no public wrapper for in-memory stdin; its own binding module
# exposes the C function and the byte-vector helper (no ctypes needed here).
from wasmtime import _ffi as wasmtime_ffi

from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError
from agentor_sandbox.codes import SandboxCode
from agentor_sandbox.state import Capture


def resolved_env(grant: Capabilities) -> tuple[tuple[str, str], ...]:
    """Granted variables only; ``value=None`` copies the host's value, skipped if unset."""
    pairs = []
    for item in grant.env:
        value = item.value if item.value is not None else os.environ.get(item.name)
        if value is not None:
            pairs.append((item.name, value))
    return tuple(pairs)


def check_preopens(grant: Capabilities) -> None:
    for access in grant.filesystem:
        if access.host_path is None:
            raise AgentorError(
                SandboxCode.GRANT_INVALID,
                f"the grant for {access.guest_path} names no host directory",
                hint="set host_path in the grant to an existing directory",
            )
        if not Path(access.host_path).is_dir():
            raise AgentorError(
                SandboxCode.GRANT_INVALID,
                f"the host directory for {access.guest_path} does not exist or is not a folder",
                hint="create it, or correct host_path in the grant",
            )


def wasi_config(
    grant: Capabilities,
    env: tuple[tuple[str, str], ...],
    capture: Capture,
    stdin: bytes | None = None,
) -> wasmtime.WasiConfig:
    config = wasmtime.WasiConfig()
    # A fixed argv[0]; never the host's arguments. No inherit_* call anywhere:
    # environment, stdio and network stay the host's.
    config.argv = ["tool"]
    if env:  # a new config has no variables; skipping the empty set saves two FFI arrays
        config.env = [list(pair) for pair in env]
    for access in grant.filesystem:
        if access.host_path is not None:
            config.preopen_dir(access.host_path, access.guest_path, fs_mutable=access.write)
    config.stdout_custom = capture.write_stdout
    config.stderr_custom = capture.write_stderr
    if stdin:
        wasmtime_ffi.wasi_config_set_stdin_bytes(config.ptr(), wasmtime_ffi.bytes_to_capi(stdin))
    return config
