"""agentor-sandbox: every tool call in a fresh, limited WebAssembly instance."""

from agentor_sandbox.__about__ import __version__
from agentor_sandbox.cache import CompileCache
from agentor_sandbox.codes import SandboxCode
from agentor_sandbox.loader import CompileProgress, Stage, WasmKind
from agentor_sandbox.runtime import SandboxRuntime, create_runtime
from agentor_sandbox.state import ProgressEvent

__all__ = [
    "CompileCache",
    "CompileProgress",
    "ProgressEvent",
    "SandboxCode",
    "SandboxRuntime",
    "Stage",
    "WasmKind",
    "__version__",
    "create_runtime",
]
