"""The guest SDK: write a tool as a typed Python function.

Standard library only, compiled into the component by ``agentor tool build``::

    from agentor_toolkit.guest import tool

    @tool(read_only=True)
    def add(a: int, b: int) -> int:
        \"\"\"Add two integers.\"\"\"
        return a + b
"""

from agentor_toolkit.guest.host import (
    HostUnavailable,
    Response,
    http,
    log,
    now_ms,
    progress,
    secret_exists,
)
from agentor_toolkit.guest.schema import Field, SchemaError
from agentor_toolkit.guest.tools import ToolFailure, declare, tool

__all__ = [
    "Field",
    "HostUnavailable",
    "Response",
    "SchemaError",
    "ToolFailure",
    "declare",
    "http",
    "log",
    "now_ms",
    "progress",
    "secret_exists",
    "tool",
]
