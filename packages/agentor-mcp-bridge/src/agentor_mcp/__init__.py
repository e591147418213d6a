"""agentor-mcp-bridge: sandboxed agentor tools for every MCP client.

Every ``tools/call`` passes the operator's policy, a person's approval when the
policy asks (as MCP elicitation), the audit log and the sandbox, in that order,
failing closed at each step.
"""

from agentor_mcp.__about__ import __version__
from agentor_mcp.annotations import annotations_for
from agentor_mcp.bridge import AgentorBridge, Toolbox
from agentor_mcp.catalog import PromptBook, PromptEntry, ResourcesSection, ResourceStore
from agentor_mcp.check import self_check
from agentor_mcp.codes import McpCode
from agentor_mcp.config import LoadedConfig, ServeConfig, ToolEntry, load_config
from agentor_mcp.pinning import PinStatus, PinStore, tool_pin
from agentor_mcp.poisoning import Finding, Hit, scan_tool
from agentor_mcp.proxy import ComposedRuntime, OutsideServers, OutsideTool, ServerPlan
from agentor_mcp.transports import (
    HttpSettings,
    StaticTokenVerifier,
    check_bind,
    http_app,
    is_loopback,
    load_tokens,
    parse_address,
    run_http,
    run_stdio,
    serve_http,
    serve_stdio,
)
from agentor_mcp.upstream import ProxySection, ServerEntry

__all__ = [
    "AgentorBridge",
    "ComposedRuntime",
    "Finding",
    "Hit",
    "HttpSettings",
    "LoadedConfig",
    "McpCode",
    "OutsideServers",
    "OutsideTool",
    "PinStatus",
    "PinStore",
    "PromptBook",
    "PromptEntry",
    "ProxySection",
    "ResourceStore",
    "ResourcesSection",
    "ServeConfig",
    "ServerEntry",
    "ServerPlan",
    "StaticTokenVerifier",
    "ToolEntry",
    "Toolbox",
    "__version__",
    "annotations_for",
    "check_bind",
    "http_app",
    "is_loopback",
    "load_config",
    "load_tokens",
    "parse_address",
    "run_http",
    "run_stdio",
    "scan_tool",
    "self_check",
    "serve_http",
    "serve_stdio",
    "tool_pin",
]
