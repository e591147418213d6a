"""agentor-egress: the only road out for a tool's HTTP requests.

:class:`HttpEgressGuard` implements :class:`agentor_core.interfaces.EgressGuard`.
Refusals are :class:`agentor_core.errors.AgentorError` with an :class:`EgressCode`.
"""

from agentor_core.redaction import Redactor
from agentor_egress.__about__ import __version__
from agentor_egress.addresses import admitted, classify
from agentor_egress.codes import EgressCode
from agentor_egress.guard import HttpEgressGuard, create
from agentor_egress.limits import EgressLimits
from agentor_egress.resolver import Resolver, StaticResolver, SystemResolver
from agentor_egress.urls import Target, parse_url

__all__ = [
    "EgressCode",
    "EgressLimits",
    "HttpEgressGuard",
    "Redactor",
    "Resolver",
    "StaticResolver",
    "SystemResolver",
    "Target",
    "__version__",
    "admitted",
    "classify",
    "create",
    "parse_url",
]
