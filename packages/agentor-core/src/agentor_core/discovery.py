"""Finding implementations of the interfaces through entry points.

As in opentelemetry-python, the interface package never imports an
implementation. Each distribution advertises a factory in one entry-point group
per interface; callers ask for the interface and get a clear error naming the
distribution to install when nothing provides it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Final, TypeVar, cast

from agentor_core.errors import AgentorError, CoreCode
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

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class InterfaceInfo:
    """An interface, its entry-point group, and the distribution that provides it."""

    interface: type[Any]
    group: str
    distribution: str


INTERFACES: Final[tuple[InterfaceInfo, ...]] = (
    InterfaceInfo(ToolRuntime, "agentor.tool_runtime", "agentor-sandbox"),
    InterfaceInfo(PolicyEngine, "agentor.policy_engine", "agentor-policy"),
    InterfaceInfo(ApprovalChannel, "agentor.approval_channel", "agentor-policy"),
    InterfaceInfo(AuditSink, "agentor.audit_sink", "agentor-audit"),
    InterfaceInfo(EgressGuard, "agentor.egress_guard", "agentor-egress"),
    InterfaceInfo(SecretStore, "agentor.secret_store", "agentor-secrets"),
    InterfaceInfo(LlmProvider, "agentor.llm_provider", "agentor-llm-providers"),
    InterfaceInfo(MemoryStore, "agentor.memory_store", "agentor-memory"),
    InterfaceInfo(ComponentReflector, "agentor.component_reflector", "agentor-sandbox"),
)

_BY_INTERFACE: Final = {info.interface: info for info in INTERFACES}


@dataclass(frozen=True, slots=True)
class Implementation:
    """One advertised implementation: entry-point name, target, and the distribution shipping it."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    entry_point: metadata.EntryPoint


def info_for(interface: type[Any]) -> InterfaceInfo:
    try:
        return _BY_INTERFACE[interface]
    except KeyError:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            f"{getattr(interface, '__name__', interface)!s} is not an agentor interface",
            hint="pass one of the Protocols in agentor_core.interfaces",
        ) from None


def implementations(interface: type[Any]) -> list[Implementation]:
    """Every installed implementation of ``interface``, sorted by name."""
    group = info_for(interface).group
    found = []
    for ep in metadata.entry_points(group=group):
        dist = ep.dist
        found.append(
            Implementation(
                name=ep.name,
                value=ep.value,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
                entry_point=ep,
            )
        )
    return sorted(found, key=lambda impl: impl.name)


def load_factory(interface: type[T], name: str | None = None) -> Callable[..., T]:
    """The factory of the implementation named ``name``, or of the only one installed.

    Raises ``core.implementation_missing`` (with the distribution to install),
    ``core.implementation_ambiguous`` or ``core.implementation_broken``.
    """
    info = info_for(interface)
    found = implementations(interface)
    if name is not None:
        found = [impl for impl in found if impl.name == name]
    if not found:
        wanted = f" named {name!r}" if name else ""
        raise AgentorError(
            CoreCode.IMPLEMENTATION_MISSING,
            f"no {interface.__name__}{wanted} is installed (entry-point group {info.group!r})",
            hint=f"install it: pip install {info.distribution}",
        )
    if len(found) > 1:
        names = ", ".join(f"{impl.name} ({impl.distribution})" for impl in found)
        raise AgentorError(
            CoreCode.IMPLEMENTATION_AMBIGUOUS,
            f"several {interface.__name__} implementations are installed: {names}",
            hint="choose one by name in the configuration",
        )
    impl = found[0]
    try:
        factory = impl.entry_point.load()
    except Exception as exc:
        raise AgentorError(
            CoreCode.IMPLEMENTATION_BROKEN,
            f"{impl.name} = {impl.value} from {impl.distribution} failed to load: "
            f"{type(exc).__name__}: {str(exc)[:300]}",
            hint=f"reinstall {impl.distribution or info.distribution} and run 'agentor doctor'",
        ) from exc
    if not callable(factory):
        raise AgentorError(
            CoreCode.IMPLEMENTATION_BROKEN,
            f"{impl.value} from {impl.distribution} is not callable",
            hint=f"report this to the maintainers of {impl.distribution}",
        )
    return cast("Callable[..., T]", factory)


def create(interface: type[T], name: str | None = None, /, **options: Any) -> T:
    """Build an implementation of ``interface`` and check it has the interface's methods."""
    instance = load_factory(interface, name)(**options)
    if not isinstance(instance, interface):
        raise AgentorError(
            CoreCode.IMPLEMENTATION_BROKEN,
            f"the {interface.__name__} factory returned {type(instance).__name__}, "
            "which lacks the interface's methods",
            hint="upgrade the distribution that provides it",
        )
    return instance


@dataclass(frozen=True, slots=True)
class Distribution:
    name: str
    version: str


def installed_distributions() -> list[Distribution]:
    """Every installed distribution named ``agentor-*``, sorted by name."""
    seen: dict[str, Distribution] = {}
    for dist in metadata.distributions():
        raw = dist.metadata["Name"]
        if not raw:
            continue
        name = raw.lower().replace("_", "-")
        if name.startswith("agentor-") and name != "agentor-workspace":
            seen.setdefault(name, Distribution(name=name, version=dist.version))
    return sorted(seen.values(), key=lambda d: d.name)
