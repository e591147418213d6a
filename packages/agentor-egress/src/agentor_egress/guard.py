"""The egress guard: the only road from a tool to the network.

One :meth:`HttpEgressGuard.send` is one request a tool asked for. In order:
refuse headers the guard owns and bodies over the cap; refuse secret values
the request carries itself (unless the grant lets the host's own client carry
that value there, :mod:`agentor_egress.carried`); normalise the URL
(:mod:`agentor_egress.urls`); then for the request and for every redirect, as
a new request: match a grant (scheme, host, port, path prefix, method), check
that every value carried is bound to this audience (a redirect elsewhere drops
such a header, and refuses such a body), resolve the name once, refuse any
special address no grant admits, fill ``{{secret:NAME}}`` placeholders bound to
this audience, connect to the checked address only, and read the response
under size and time caps; finally refuse or redact a response that echoes a
secret value (unless granted back from this audience).
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import urljoin

import httpcore
import httpx
from pydantic import ValidationError

from agentor_core.capabilities import Capabilities, HttpMethod, NetworkDestination
from agentor_core.egress import MAX_HEADERS, HttpRequest, HttpResponse
from agentor_core.errors import AgentorError
from agentor_core.interfaces import SecretStore
from agentor_core.redaction import Redactor
from agentor_egress.__about__ import __version__
from agentor_egress.addresses import (
    IPAddress,
    IPNetwork,
    admitted,
    canonical,
    classify,
    parse_ranges,
)
from agentor_egress.carried import carried_anywhere, header_findings, is_carried, stored_values
from agentor_egress.codes import EgressCode
from agentor_egress.limits import EgressLimits
from agentor_egress.placeholders import substitute_body, substitute_header
from agentor_egress.resolver import MAX_ADDRESSES, Resolver, SystemResolver
from agentor_egress.transport import TransportCache
from agentor_egress.urls import Target, parse_url

# Framing and routing headers belong to the guard: a tool that set them could
# smuggle a second request or pick another virtual host than the one checked.
OWNED_HEADERS: Final = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
        "expect",
        "http2-settings",
    }
)
# Replaced by "identity": the host never inflates a compressed body (no zip bombs).
_REPLACED_HEADERS: Final = frozenset({"accept-encoding"})
CREDENTIAL_HEADERS: Final = frozenset({"authorization", "cookie", "proxy-authorization"})
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_MAX_HEADER_VALUE: Final = 16 * 1024


def _error(code: EgressCode, message: str, hint: str) -> AgentorError:
    return AgentorError(code, message, hint=hint)


def _leak(names: list[str], target: Target) -> AgentorError:
    return _error(
        EgressCode.SECRET_LEAK,
        f"the request carries the value of secret {', '.join(names)} towards "
        f"{target.audience}, where the grant does not let it travel",
        "refer to secrets only as {{secret:NAME}}; the host fills in the value",
    )


def _refuse_leaks(
    redactor: Redactor, request: HttpRequest, templates: list[tuple[str, str]], grant: Capabilities
) -> None:
    """Refuses stored values in the URL or a header name (as good a channel out as a
    value) always, and in header values and the body unless the grant lets the host's
    own client carry them there (checked against each destination as it is reached)."""
    leaked = set(redactor.find(request.url))
    leaked.update(n for n in redactor.find(request.body) if not carried_anywhere(n, "body", grant))
    for name, value in templates:
        leaked.update(redactor.find(name))
        leaked.update(
            n for n in header_findings(redactor, value) if not carried_anywhere(n, "header", grant)
        )
    if leaked:
        raise _error(
            EgressCode.SECRET_LEAK,
            f"the request carries the value of secret {', '.join(sorted(leaked))} "
            "outside a placeholder",
            "refer to secrets only as {{secret:NAME}}; the host fills in the value",
        )


def _caused_by_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextlib.contextmanager
def _mapped(target: Target) -> Iterator[None]:
    """httpcore's exceptions as egress codes, naming the host (never the full URL)."""
    try:
        yield
    except httpcore.TimeoutException:
        raise _error(
            EgressCode.TIMEOUT,
            f"{target.host} did not answer in time",
            "retry later, or ask the operator for longer egress timeouts",
        ) from None
    except (httpcore.ConnectError, ssl.SSLError) as exc:
        if _caused_by_tls(exc):
            raise _error(
                EgressCode.TLS_FAILED,
                f"TLS with {target.host} failed: the certificate is not valid for this name "
                "or the handshake was refused",
                "check the host name; the guard never skips certificate checks",
            ) from None
        raise _error(
            EgressCode.CONNECT_FAILED,
            f"could not connect to {target.host}:{target.port}",
            "check that the service is up and reachable from this host",
        ) from None
    except httpcore.ProtocolError:
        raise _error(
            EgressCode.RESPONSE_INVALID,
            f"{target.host} broke the HTTP protocol (or sent oversized headers)",
            "the service is misbehaving; try again later",
        ) from None
    except (httpcore.NetworkError, httpcore.UnsupportedProtocol, OSError):
        raise _error(
            EgressCode.CONNECT_FAILED,
            f"the connection to {target.host}:{target.port} was lost",
            "retry; if it persists, check the service",
        ) from None


def _host_matches(destination: NetworkDestination, target: Target) -> bool:
    if target.address is not None:
        return destination.host == target.host
    return destination.matches_host(target.host)


def _path_matches(prefix: str, target: Target) -> bool:
    if prefix == "/":
        return True
    inside = prefix.rstrip("/") + "/"
    # Both readings must be inside: servers differ on whether %2F separates segments.
    return all(
        path == prefix or path.startswith(inside) for path in (target.path, target.decoded_path)
    )


class HttpEgressGuard:
    """An :class:`agentor_core.interfaces.EgressGuard` built on httpx, with pinned connections.

    ``secrets`` fills placeholders and is scanned for leaks; ``resolver``
    (default: the system's) turns names into addresses; ``ssl_context`` (default:
    the system's trust store, certificate and host name checks on) verifies
    servers. One guard serves many calls and threads; call :meth:`close` when done.
    """

    def __init__(
        self,
        *,
        secrets: SecretStore | None = None,
        resolver: Resolver | None = None,
        limits: EgressLimits | None = None,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = f"agentor-egress/{__version__}",
    ) -> None:
        context = ssl_context if ssl_context is not None else ssl.create_default_context()
        if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
            raise _error(
                EgressCode.TLS_FAILED,
                "the egress guard needs an SSL context that verifies certificates and host names",
                "pass ssl.create_default_context(cafile=...) instead of a permissive context",
            )
        self._secrets: Final = secrets
        self._resolver: Final = resolver if resolver is not None else SystemResolver()
        self.limits: Final = limits if limits is not None else EgressLimits()
        self._user_agent: Final = user_agent
        self._pools: Final = TransportCache(context, self.limits.max_pooled_origins)

    def close(self) -> None:
        self._pools.close()

    def __enter__(self) -> HttpEgressGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the EgressGuard protocol ---------------------------------------------------

    def send(self, request: HttpRequest, grant: Capabilities) -> HttpResponse:
        if grant.limits.http_requests == 0:
            raise _error(
                EgressCode.BUDGET_EXHAUSTED,
                "this call's grant allows no HTTP requests",
                "ask the operator to grant limits.http_requests above 0",
            )
        limits = self.limits
        if len(request.body) > limits.max_request_body_bytes:
            raise _error(
                EgressCode.REQUEST_TOO_LARGE,
                f"the request body of {len(request.body)} bytes is over the "
                f"{limits.max_request_body_bytes}-byte limit",
                "send a smaller body",
            )
        templates: list[tuple[str, str]] = []
        for name, value in request.headers:
            lowered = name.lower()
            if lowered in OWNED_HEADERS:
                raise _error(
                    EgressCode.HEADER_DENIED,
                    f"the {name} header is set by the egress guard, not by tools",
                    f"leave {name} out of the request",
                )
            if not value.isascii():
                # httpx encodes header values as ASCII and would raise mid-send.
                raise _error(
                    EgressCode.HEADER_DENIED,
                    f"the {name} header value holds characters outside ASCII",
                    "percent-encode or base64-encode the value",
                )
            if lowered not in _REPLACED_HEADERS:
                templates.append((name, value))
        if "{{secret:" in request.url:
            raise _error(
                EgressCode.SECRET_PLACEMENT,
                "secret placeholders are filled in header values and bodies only, never in URLs",
                "move the credential into a header, e.g. Authorization: Bearer {{secret:NAME}}",
            )
        pairs = self._stored()
        redactor = Redactor(pairs)
        if redactor:
            _refuse_leaks(redactor, request, templates, grant)
        deadline = time.monotonic() + limits.total_timeout_s
        target = parse_url(request.url)
        method, body, hops = request.method, request.body, 0
        while True:
            ranges = self._authorise(target, method, grant)
            if redactor:
                templates = self._carried_here(redactor, templates, body, target, grant, hops)
            address = self._address(target, ranges)
            headers: list[tuple[str, str]] = []
            for name, template in templates:
                headers.append((name, substitute_header(template, target, grant, self._secrets)[0]))
            sent_body = substitute_body(body, target, grant, self._secrets)
            response = self._exchange(target, address, method, headers, sent_body, deadline)
            try:
                location = self._location(response)
                if location is None:
                    echo = self._echo_redactor(pairs, redactor, target, grant)
                    return self._finish(response, target, method, echo, deadline)
                # Always refused, even when redacting: a secret in a Location would
                # be sent on, in a URL, to wherever it points.
                self._check_echo(redactor, response, b"", always=True)
                hops += 1
                if hops > limits.max_redirects:
                    raise _error(
                        EgressCode.TOO_MANY_REDIRECTS,
                        f"more than {limits.max_redirects} redirects, last from {target.host}",
                        "request the final URL directly",
                    )
                following = parse_url(urljoin(target.url, location))
                if response.status_code == 303 or (
                    response.status_code in {301, 302} and method is HttpMethod.POST
                ):
                    # As browsers do: the redirected request is a GET without a body.
                    method = HttpMethod.HEAD if method is HttpMethod.HEAD else HttpMethod.GET
                    body = b""
                    templates = [(n, v) for n, v in templates if n.lower() != "content-type"]
                if following.origin != target.origin:
                    # Credentials and filled secrets were meant for the old origin only.
                    templates = [
                        (n, v)
                        for n, v in templates
                        if n.lower() not in CREDENTIAL_HEADERS and "{{secret:" not in v
                    ]
                target = following
            finally:
                response.close()

    # -- the steps ------------------------------------------------------------------

    def _stored(self) -> list[tuple[str, str]]:
        """Every stored value to scan for, by secret name (see ``carried.stored_values``)."""
        store = self._secrets
        if store is None:
            return []
        try:
            pairs: list[tuple[str, str]] = []
            for name in store.names():
                value = store.reveal(name)
                if value is not None:
                    pairs.extend(stored_values(name, value))
        except AgentorError:
            raise
        except Exception as exc:  # noqa: BLE001 - any store may fail; fail closed with a code
            raise _error(
                EgressCode.SECRET_UNAVAILABLE,
                f"the secret store failed: {type(exc).__name__}",
                "check the secret store with 'agentor secret list'",
            ) from None
        return pairs

    @staticmethod
    def _carried_here(
        redactor: Redactor,
        templates: list[tuple[str, str]],
        body: bytes,
        target: Target,
        grant: Capabilities,
        hops: int,
    ) -> list[tuple[str, str]]:
        """The headers to send to ``target``; refuses a value carried where it is not bound.

        After a redirect, a header carrying a value not bound to the new audience is
        dropped (as credentials are across origins); the request itself is refused.
        """
        kept: list[tuple[str, str]] = []
        for name, value in templates:
            stray = sorted(
                n
                for n in header_findings(redactor, value)
                if not is_carried(n, "header", target, grant)
            )
            if not stray:
                kept.append((name, value))
            elif hops == 0:
                raise _leak(stray, target)
        stray = sorted(n for n in redactor.find(body) if not is_carried(n, "body", target, grant))
        if stray:
            raise _leak(stray, target)
        return kept

    @staticmethod
    def _echo_redactor(
        pairs: list[tuple[str, str]], redactor: Redactor, target: Target, grant: Capabilities
    ) -> Redactor:
        """What a final response is scanned for: every value but those granted back from here."""
        back = {n for n in redactor.names() if is_carried(n, "response", target, grant)}
        if not back:
            return redactor
        return Redactor([(name, value) for name, value in pairs if name not in back])

    def _authorise(
        self, target: Target, method: HttpMethod, grant: Capabilities
    ) -> tuple[IPNetwork, ...]:
        """The address ranges the matching grants admit; refuses if none matches."""
        host = [d for d in grant.network if _host_matches(d, target)]
        if not host:
            raise _error(
                EgressCode.DESTINATION_DENIED,
                f"no grant covers host {target.host}",
                f"ask the operator to grant NetworkDestination(host={target.host!r})",
            )
        scheme = [d for d in host if d.scheme is target.scheme]
        if not scheme:
            plain = (
                " (plain http is allowed only when granted by name)"
                if target.scheme == "http"
                else ""
            )
            raise _error(
                EgressCode.SCHEME_DENIED,
                f"{target.scheme} to {target.host} is not granted{plain}",
                "use https, or ask the operator to grant this scheme",
            )
        port = [d for d in scheme if d.effective_port == target.port]
        if not port:
            raise _error(
                EgressCode.DESTINATION_DENIED,
                f"port {target.port} on {target.host} is not granted",
                "use a granted port, or ask the operator to grant this one",
            )
        path = [d for d in port if _path_matches(d.path_prefix, target)]
        if not path:
            prefixes = ", ".join(sorted({d.path_prefix for d in port}))
            raise _error(
                EgressCode.DESTINATION_DENIED,
                f"the path is outside the granted prefixes on {target.host} ({prefixes})",
                "request a path under a granted prefix",
            )
        allowed = [d for d in path if method in d.methods]
        if not allowed:
            methods = ", ".join(sorted({m for d in path for m in d.methods}))
            raise _error(
                EgressCode.METHOD_DENIED,
                f"{method} to {target.host} is not granted (granted: {methods})",
                "use a granted method, or ask the operator to grant this one",
            )
        return tuple(net for d in allowed for net in parse_ranges(d.address_ranges))

    def _address(self, target: Target, ranges: tuple[IPNetwork, ...]) -> IPAddress:
        if target.address is not None:
            addresses: list[IPAddress] = [target.address]
        else:
            try:
                addresses = list(self._resolver.resolve(target.host, target.port))[:MAX_ADDRESSES]
            except AgentorError:
                raise
            except Exception as exc:  # noqa: BLE001 - any resolver may fail; fail closed
                raise _error(
                    EgressCode.RESOLUTION_FAILED,
                    f"resolving {target.host} failed: {type(exc).__name__}",
                    "check the host name and the resolver",
                ) from None
            if not addresses:
                raise _error(
                    EgressCode.RESOLUTION_FAILED,
                    f"{target.host} resolved to no address",
                    "check the host name",
                )
        # Every answer must pass, not just the first: a name answering with a
        # public and a private address is a rebinding attempt.
        for address in addresses:
            if not admitted(address, ranges):
                shown = canonical(address)
                what = (
                    f"the address {shown}"
                    if target.address is not None
                    else f"{target.host} resolves to {shown}, which"
                )
                raise _error(
                    EgressCode.ADDRESS_DENIED,
                    f"{what} is a {classify(shown)} address no grant admits",
                    "if this destination is intended, the operator can grant "
                    f"address_ranges=({str(shown) + ('/32' if shown.version == 4 else '/128')!r},)",
                )
        return canonical(addresses[0])

    def _exchange(
        self,
        target: Target,
        address: IPAddress,
        method: HttpMethod,
        headers: list[tuple[str, str]],
        body: bytes,
        deadline: float,
    ) -> httpx.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _error(
                EgressCode.TIMEOUT,
                f"the exchange with {target.host} ran out of time",
                "retry later, or ask the operator for longer egress timeouts",
            )
        limits = self.limits
        timeout = {
            "connect": min(limits.connect_timeout_s, remaining),
            "read": min(limits.read_timeout_s, remaining),
            "write": min(limits.read_timeout_s, remaining),
            "pool": min(limits.connect_timeout_s, remaining),
        }
        all_headers = [*headers, ("Accept-Encoding", "identity")]
        if not any(name.lower() == "user-agent" for name, _ in headers):
            all_headers.append(("User-Agent", self._user_agent))
        content = (
            body if body or method in {HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH} else None
        )
        transport = self._pools.get(target.scheme, target.host, target.port, str(address))
        with _mapped(target):
            outgoing = httpx.Request(
                method,
                target.url,
                headers=all_headers,
                content=content,
                extensions={"timeout": timeout},
            )
            return transport.handle_request(outgoing)

    @staticmethod
    def _location(response: httpx.Response) -> str | None:
        if response.status_code not in _REDIRECTS:
            return None
        values = [v for k, v in response.headers.raw if k.lower() == b"location"]
        if not values:
            return None
        return values[0].decode("latin-1")

    def _read_body(self, response: httpx.Response, target: Target, deadline: float) -> bytes:
        limit = self.limits.max_response_body_bytes
        declared = response.headers.get("content-length", "")

        def too_large() -> AgentorError:
            return _error(
                EgressCode.RESPONSE_TOO_LARGE,
                f"the response from {target.host} is over the {limit}-byte limit; it was discarded",
                "request less data (a range, a page, a filter), or ask for a higher limit",
            )

        if declared.isdigit() and int(declared) > limit:
            raise too_large()
        chunks: list[bytes] = []
        total = 0
        with _mapped(target):
            for chunk in response.iter_raw():
                total += len(chunk)
                if total > limit:
                    raise too_large()
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise _error(
                        EgressCode.TIMEOUT,
                        f"{target.host} did not finish its response in "
                        f"{self.limits.total_timeout_s} s (a slow or stalled body)",
                        "retry later, or ask the operator for a longer total timeout",
                    )
        return b"".join(chunks)

    def _check_echo(
        self, redactor: Redactor, response: httpx.Response, body: bytes, *, always: bool = False
    ) -> None:
        if not redactor or (self.limits.on_echo == "redact" and not always):
            return
        echoed = set(redactor.find(body))
        for _, value in response.headers.raw:
            echoed.update(redactor.find(value))
        if echoed:
            raise _error(
                EgressCode.SECRET_ECHOED,
                f"the response carries the value of secret {', '.join(sorted(echoed))}; "
                "it was withheld from the tool",
                "the service echoes credentials; do not send this secret to it",
            )

    def _finish(
        self,
        response: httpx.Response,
        target: Target,
        method: HttpMethod,
        redactor: Redactor,
        deadline: float,
    ) -> HttpResponse:
        raw_headers = response.headers.raw
        if len(raw_headers) > MAX_HEADERS or any(
            len(v) > _MAX_HEADER_VALUE for _, v in raw_headers
        ):
            raise _error(
                EgressCode.RESPONSE_HEADERS_TOO_LARGE,
                f"the response from {target.host} has more than {MAX_HEADERS} headers "
                f"or one longer than {_MAX_HEADER_VALUE} bytes",
                "the service is misbehaving; try again later",
            )
        body = b"" if method is HttpMethod.HEAD else self._read_body(response, target, deadline)
        self._check_echo(redactor, response, body)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        if redactor and self.limits.on_echo == "redact":
            headers = [(k, redactor.scrub(v)) for k, v in headers]
            body = redactor.scrub_bytes(body)
        try:
            return HttpResponse(
                status=response.status_code, url=target.url, headers=tuple(headers), body=body
            )
        except ValidationError:
            raise _error(
                EgressCode.RESPONSE_INVALID,
                f"the response from {target.host} has a malformed status or header",
                "the service is misbehaving; try again later",
            ) from None


def create(**options: Any) -> HttpEgressGuard:
    """The entry-point factory (group ``agentor.egress_guard``); options as for the class."""
    return HttpEgressGuard(**options)
