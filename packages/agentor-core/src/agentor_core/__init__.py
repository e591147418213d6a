"""agentor-core: the interfaces and domain models every agentor distribution shares.

Depends on pydantic only. Implementations live in other distributions and are
found through entry points (:mod:`agentor_core.discovery`).
"""

from agentor_core.__about__ import __version__
from agentor_core.audit import AuditEvent, AuditEventType, AuditReceipt
from agentor_core.capabilities import (
    Capabilities,
    EnvGrant,
    HttpMethod,
    NetworkDestination,
    PathAccess,
    ResourceLimits,
    Scheme,
    SecretGrant,
)
from agentor_core.decisions import (
    ApprovalRequest,
    ApprovalResponse,
    Decision,
    Obligations,
    PolicyContext,
    Verdict,
)
from agentor_core.egress import HttpRequest, HttpResponse
from agentor_core.errors import AgentorError, CoreCode, ToolError
from agentor_core.interfaces import (
    ApprovalChannel,
    AuditSink,
    ComponentReflector,
    EgressGuard,
    LlmProvider,
    MemoryStore,
    PolicyEngine,
    SecretStore,
    ToolRuntime,
)
from agentor_core.labels import Confidentiality, Label, LabelSet, Source, Trust
from agentor_core.tools import (
    AudioContent,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    JsonContent,
    TextContent,
    ToolAnnotations,
    ToolCall,
    ToolResult,
    ToolSpec,
)

__all__ = [
    "AgentorError",
    "ApprovalChannel",
    "ApprovalRequest",
    "ApprovalResponse",
    "AudioContent",
    "AuditEvent",
    "AuditEventType",
    "AuditReceipt",
    "AuditSink",
    "Capabilities",
    "ComponentReflector",
    "Confidentiality",
    "ContentBlock",
    "CoreCode",
    "Decision",
    "EgressGuard",
    "EmbeddedResource",
    "EnvGrant",
    "HttpMethod",
    "HttpRequest",
    "HttpResponse",
    "ImageContent",
    "JsonContent",
    "Label",
    "LabelSet",
    "LlmProvider",
    "MemoryStore",
    "NetworkDestination",
    "Obligations",
    "PathAccess",
    "PolicyContext",
    "PolicyEngine",
    "ResourceLimits",
    "Scheme",
    "SecretGrant",
    "SecretStore",
    "Source",
    "TextContent",
    "ToolAnnotations",
    "ToolCall",
    "ToolError",
    "ToolResult",
    "ToolRuntime",
    "ToolSpec",
    "Trust",
    "Verdict",
    "__version__",
]
