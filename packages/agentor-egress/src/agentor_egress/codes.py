"""Stable error codes of agentor-egress. Every refusal of the guard carries one."""

from __future__ import annotations

from enum import StrEnum


class EgressCode(StrEnum):
    """Codes raised by the egress guard. Never renamed once released.

    (The ``noqa``/``nosec`` marks below: these are error codes, not passwords.)
    """

    INVALID_URL = "egress.invalid_url"
    """A URL the guard will not read: userinfo, zone ids, control characters, dot segments..."""
    SCHEME_DENIED = "egress.scheme_denied"
    """A scheme other than https, or http where only https is granted."""
    DESTINATION_DENIED = "egress.destination_denied"
    """No grant covers this host, port and path."""
    METHOD_DENIED = "egress.method_denied"
    """The destination is granted, but not for this method."""
    BUDGET_EXHAUSTED = "egress.budget_exhausted"
    """The grant allows no HTTP requests at all (``limits.http_requests == 0``)."""
    HEADER_DENIED = "egress.header_denied"
    """The tool set a header the guard owns (Host, Content-Length, Connection, ...),
    or a header value outside ASCII."""
    RESOLUTION_FAILED = "egress.resolution_failed"
    """The host name did not resolve."""
    ADDRESS_DENIED = "egress.address_denied"
    """The host is or resolves to a special address (loopback, private...) no grant admits."""
    CONNECT_FAILED = "egress.connect_failed"
    """The connection could not be made or was lost."""
    TLS_FAILED = "egress.tls_failed"
    """The TLS handshake failed, e.g. the certificate is not valid for the host name."""
    TIMEOUT = "egress.timeout"
    """Connecting, sending or receiving took longer than allowed (slow responses included)."""
    REQUEST_TOO_LARGE = "egress.request_too_large"
    """The request body is over the guard's limit."""
    RESPONSE_TOO_LARGE = "egress.response_too_large"
    """The response body is over the guard's limit; it was cut off and discarded."""
    RESPONSE_HEADERS_TOO_LARGE = "egress.response_headers_too_large"
    """The response has too many headers, or one too long."""
    RESPONSE_INVALID = "egress.response_invalid"
    """The server broke the HTTP protocol."""
    TOO_MANY_REDIRECTS = "egress.too_many_redirects"
    """More redirects than the guard follows."""
    SECRET_UNBOUND = "egress.secret_unbound"  # noqa: S105  # nosec B105
    """A ``{{secret:NAME}}`` placeholder towards a destination the grant does not bind NAME to."""
    SECRET_MISSING = "egress.secret_missing"  # noqa: S105  # nosec B105
    """The placeholder's secret is bound but not in the store."""
    SECRET_UNAVAILABLE = "egress.secret_unavailable"  # noqa: S105  # nosec B105
    """The guard has no secret store, or the store failed."""
    SECRET_PLACEMENT = "egress.secret_placement"  # noqa: S105  # nosec B105
    """A placeholder outside header values and the body (e.g. in the URL), or unfit for a header."""
    SECRET_LEAK = "egress.secret_leak"  # noqa: S105  # nosec B105
    """The request carries a known secret value itself, outside any placeholder."""
    SECRET_ECHOED = "egress.secret_echoed"  # noqa: S105  # nosec B105
    """The response carries a known secret value; the tool must not see it."""
