"""The capability model: what a tool may touch, requested by its manifest and granted by policy.

A manifest *requests* capabilities; the operator's policy *grants* them; the
sandbox receives only what was requested and granted. Nothing here is ambient:
an empty :class:`Capabilities` means no filesystem, no network, no environment,
no secrets, and the default limits.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_serializer,
    field_validator,
)

from agentor_core.bounds import MAX_LIST_ITEMS

MAX_PATH_CHARS: Final = 1024

EnvName = Annotated[str, StringConstraints(max_length=256, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
SecretName = Annotated[
    str, StringConstraints(max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
]

_HOST_RE: Final = re.compile(
    r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


class HttpMethod(StrEnum):
    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    OPTIONS = "OPTIONS"


class Scheme(StrEnum):
    HTTPS = "https"
    HTTP = "http"
    """Plain text: only when an operator grants it by name."""


_DEFAULT_PORTS: Final = {Scheme.HTTPS: 443, Scheme.HTTP: 80}


def _normal_guest_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError("a guest path must be absolute, e.g. /data")
    if "\x00" in value or "\\" in value:
        raise ValueError("a guest path must not contain NUL or backslashes")
    if any(part in {".", ".."} for part in value.split("/")):
        raise ValueError("a guest path must not contain '.' or '..' segments")
    return posixpath.normpath(value)


class PathAccess(BaseModel):
    """A directory visible to the tool at ``guest_path``, read-only unless ``write``.

    A request names only the guest path; the grant adds the host directory behind
    it. The sandbox refuses a grant whose ``host_path`` is missing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    guest_path: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATH_CHARS)]
    host_path: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    write: StrictBool = False

    @field_validator("guest_path")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return _normal_guest_path(value)

    @field_validator("host_path")
    @classmethod
    def _host_absolute(cls, value: str | None) -> str | None:
        if value is not None and (
            "\x00" in value
            or not (
                value.startswith(("/", "\\"))
                or (
                    len(value) > 2 and value[1] == ":"  # a Windows drive path
                )
            )
        ):
            raise ValueError("a host path must be absolute and free of NUL bytes")
        return value

    def covers(self, other: PathAccess) -> bool:
        """True if this access includes ``other`` (same or parent directory, enough mode)."""
        inside = other.guest_path == self.guest_path or other.guest_path.startswith(
            self.guest_path.rstrip("/") + "/"
        )
        return inside and (self.write or not other.write)


class NetworkDestination(BaseModel):
    """Where a tool's HTTP requests may go: scheme, host, port, path prefix and methods.

    ``host`` is exact (``api.example.com``) or a wildcard over subdomains
    (``*.example.com``, which does not match ``example.com`` itself). Addresses
    in loopback, private, link-local and other special ranges are refused by the
    egress guard unless one of ``address_ranges`` admits them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scheme: Scheme = Scheme.HTTPS
    host: Annotated[str, StringConstraints(min_length=1, max_length=253)]
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] | None = None
    path_prefix: Annotated[str, StringConstraints(max_length=MAX_PATH_CHARS)] = "/"
    methods: frozenset[HttpMethod] = frozenset({HttpMethod.GET, HttpMethod.HEAD})
    address_ranges: tuple[str, ...] = Field(default=(), max_length=64)

    @field_validator("host")
    @classmethod
    def _normal_host(cls, value: str) -> str:
        host = value.strip().lower().rstrip(".")
        try:
            return str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            pass
        if not _HOST_RE.match(host):
            # The value is left out: validation messages never echo input.
            raise ValueError(
                "not a host name: use letters, digits, '-' and '.', "
                "optionally starting with '*.' for subdomains"
            )
        return host

    @field_validator("path_prefix")
    @classmethod
    def _normal_prefix(cls, value: str) -> str:
        return _normal_guest_path(value) if value != "/" else value

    @field_validator("address_ranges")
    @classmethod
    def _ranges(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(str(ipaddress.ip_network(item, strict=False)) for item in value)
        except ValueError:
            raise ValueError("not an address range: use CIDR such as 10.0.0.0/8") from None

    @field_serializer("methods", when_used="json")
    def _sorted_methods(self, value: frozenset[HttpMethod]) -> list[HttpMethod]:
        # Set iteration order varies with PYTHONHASHSEED; policy hashes must not.
        return sorted(value)

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else _DEFAULT_PORTS[self.scheme]

    def matches_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host

    def covers(self, other: NetworkDestination) -> bool:
        """True if every request ``other`` allows is also allowed by this destination."""
        if other.host.startswith("*."):
            host_ok = self.host.startswith("*.") and other.host.endswith(self.host[1:])
        else:
            host_ok = self.matches_host(other.host)
        prefix = self.path_prefix.rstrip("/") + "/"
        path_ok = self.path_prefix in {"/", other.path_prefix} or other.path_prefix.startswith(
            prefix
        )
        return (
            self.scheme is other.scheme
            and host_ok
            and self.effective_port == other.effective_port
            and path_ok
            and other.methods <= self.methods
            and set(other.address_ranges) <= set(self.address_ranges)
        )

    def describe(self) -> str:
        methods = ",".join(sorted(self.methods))
        return f"{methods} {self.scheme}://{self.host}:{self.effective_port}{self.path_prefix}"


class EnvGrant(BaseModel):
    """An environment variable the tool sees.

    ``value=None`` copies the host's value at call time.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: EnvName
    value: Annotated[str, StringConstraints(max_length=32 * 1024)] | None = None


class SecretGrant(BaseModel):
    """A secret the host may substitute on the tool's behalf, only towards ``audiences``.

    An audience is ``scheme://host`` (an IPv6 literal host in brackets,
    ``http://[::1]``). The value never enters the sandbox; the tool can only ask
    whether it exists and refer to it by placeholder.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: SecretName
    audiences: tuple[
        Annotated[
            str,
            StringConstraints(
                max_length=300, pattern=r"^https?://(?:[a-z0-9.\-*]+|\[[0-9a-f:.]+\])$"
            ),
        ],
        ...,
    ] = Field(default=(), max_length=64)
    carried_in: frozenset[Literal["header", "body", "response"]] = frozenset()
    """Where the host's own client (e.g. the MCP proxy's OAuth client; never a tool)
    sends this secret's value itself instead of a ``{{secret:NAME}}`` placeholder,
    towards ``audiences`` only: ``header`` values, the ``body``, and ``response`` (the
    audience may answer with the value, e.g. a token endpoint repeating a refresh
    token). Empty, the default: the value outside a placeholder is a leak everywhere.
    """


class ResourceLimits(BaseModel):
    """Per-call limits. Defaults are safe for untrusted code; ``ge``/``le`` are hard bounds.

    Strict integers: a grant saying ``fuel = "100"`` is a mistake to report, not to coerce.

    Every exhausted limit maps to its own error code in agentor-sandbox.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    fuel: Annotated[int, Field(strict=True, ge=1, le=10**13)] = 2_000_000_000
    """WebAssembly instructions (roughly), counted by wasmtime fuel."""
    deadline_ms: Annotated[int, Field(strict=True, ge=1, le=15 * 60 * 1000)] = 10_000
    """Wall-clock time for the whole call, enforced by epoch interruption."""
    memory_bytes: Annotated[int, Field(strict=True, ge=64 * 1024, le=4 * 1024**3)] = 256 * 1024**2
    """Linear memory across the instance."""
    table_elements: Annotated[int, Field(strict=True, ge=1, le=10_000_000)] = 100_000
    instances: Annotated[int, Field(strict=True, ge=1, le=1000)] = 64
    """Core instances inside one component instance."""
    output_bytes: Annotated[int, Field(strict=True, ge=0, le=256 * 1024**2)] = 1024**2
    """Captured stdout plus stderr."""
    log_bytes: Annotated[int, Field(strict=True, ge=0, le=64 * 1024**2)] = 256 * 1024
    result_bytes: Annotated[int, Field(strict=True, ge=0, le=256 * 1024**2)] = 4 * 1024**2
    http_requests: Annotated[int, Field(strict=True, ge=0, le=10_000)] = 16
    """HTTP requests through the egress guard in one call."""

    def exceeding(self, grant: ResourceLimits) -> list[str]:
        """Each limit in ``self`` that is higher than in ``grant``, as text."""
        return [
            f"limits.{name}: requested {getattr(self, name)}, granted {getattr(grant, name)}"
            for name in type(self).model_fields
            if getattr(self, name) > getattr(grant, name)
        ]


class Capabilities(BaseModel):
    """Everything a tool may touch. Empty means nothing, with the default limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    filesystem: tuple[PathAccess, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)
    network: tuple[NetworkDestination, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)
    env: tuple[EnvGrant, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)
    secrets: tuple[SecretGrant, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)
    limits: ResourceLimits = Field(default_factory=ResourceLimits)

    def exceeding(self, grant: Capabilities) -> list[str]:
        """What this request asks for that ``grant`` does not give, one line per item.

        An empty list means the request is within the grant.
        """
        missing: list[str] = []
        for path in self.filesystem:
            if not any(g.covers(path) for g in grant.filesystem):
                mode = "read-write" if path.write else "read-only"
                missing.append(f"filesystem: {mode} {path.guest_path}")
        for dest in self.network:
            if not any(g.covers(dest) for g in grant.network):
                missing.append(f"network: {dest.describe()}")
        granted_env = {e.name for e in grant.env}
        missing += [f"env: {e.name}" for e in self.env if e.name not in granted_env]
        granted_secrets = {s.name: set(s.audiences) for s in grant.secrets}
        for secret in self.secrets:
            if secret.name not in granted_secrets:
                missing.append(f"secret: {secret.name}")
            elif not set(secret.audiences) <= granted_secrets[secret.name]:
                extra = sorted(set(secret.audiences) - granted_secrets[secret.name])
                missing.append(f"secret: {secret.name} towards {', '.join(extra)}")
        return missing + self.limits.exceeding(grant.limits)
