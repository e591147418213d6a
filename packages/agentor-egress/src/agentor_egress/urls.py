"""Reading a tool's URL the one way the guard checks and connects to it.

Parsers that disagree are how SSRF filters are bypassed: a filter reads one
host, the HTTP client connects to another. So the guard parses once, here,
normalises every host spelling to a single form (decimal, octal, hex and short
IPv4 forms as WHATWG's URL standard reads them, IPv6 literals, percent-encoded
and internationalised names, case, trailing dots), refuses what has no single
reading (userinfo, zone ids, backslashes, dot segments), and from then on only
the normalised :class:`Target` is used: for the grant check, the address check,
the connection and the Host header.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote_to_bytes

import idna

from agentor_core.capabilities import Scheme
from agentor_core.errors import AgentorError
from agentor_egress.addresses import IPAddress, canonical
from agentor_egress.codes import EgressCode

_BAD_URL_CHAR: Final = re.compile(r"[\x00-\x20\x7f\\]")
_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_LABEL_RE: Final = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_FORBIDDEN_HOST_CHARS: Final = frozenset("\x00\t\n\r #/:<>?@[\\]^|%")
_DEFAULT_PORT: Final = {Scheme.HTTPS: 443, Scheme.HTTP: 80}
# Every printable ASCII character but space stays as written; anything else is percent-encoded.
_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F))


def _invalid(
    why: str, hint: str = "send a plain URL such as https://api.example.com/path"
) -> AgentorError:
    return AgentorError(EgressCode.INVALID_URL, f"refused URL: {why}", hint=hint)


@dataclass(frozen=True, slots=True)
class Target:
    """A normalised absolute URL. ``host`` is an ASCII name or an address in canonical text."""

    scheme: Scheme
    host: str
    address: IPAddress | None
    """Set when the URL names an address rather than a host name."""
    port: int
    path: str
    """As sent: percent-encoded, starting with ``/``."""
    query: str
    decoded_path: str
    """``path`` percent-decoded, for the path-prefix check."""

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORT[self.scheme] else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @property
    def audience(self) -> str:
        """``scheme://host``, the form a :class:`~agentor_core.capabilities.SecretGrant` names
        (an IPv6 address in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}"

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def url(self) -> str:
        return self.origin + self.target


def _ipv4_number(part: str) -> int | None:
    """One dotted part as WHATWG reads it (0x hex, 0-led octal, decimal); None if no number."""
    if part[:2] in {"0x", "0X"}:
        digits = part[2:]
        if digits and not all(c in "0123456789abcdefABCDEF" for c in digits):
            return None
        return int(digits, 16) if digits else 0
    if not part.isascii() or not part.isdigit():
        return None
    if len(part) > 1 and part[0] == "0":
        return int(part, 8) if all(c in "01234567" for c in part) else None
    return int(part)


def _ends_in_number(host: str) -> bool:
    last = host.rsplit(".", maxsplit=1)[-1]
    if last.isascii() and last.isdigit():
        return True
    return last[:2] in {"0x", "0X"} and all(c in "0123456789abcdefABCDEF" for c in last[2:])


def _parse_ipv4(host: str) -> ipaddress.IPv4Address:
    """``127.1``, ``0x7f.1``, ``0177.0.0.1``, ``2130706433`` -> 127.0.0.1, as browsers read them."""
    parts = host.split(".")
    if len(parts) > 4 or any(not p for p in parts):
        raise _invalid("the host looks like an IPv4 address but is not a valid one")
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        raise _invalid("the host looks like an IPv4 address but is not a valid one")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise _invalid("an IPv4 address part is out of range")
    total = values[-1]
    for index, number in enumerate(values[:-1]):
        total += number << (8 * (3 - index))
    return ipaddress.IPv4Address(total)


def _normal_host(raw: str) -> tuple[str, IPAddress | None]:
    if raw.startswith("["):
        if not raw.endswith("]"):
            raise _invalid("an IPv6 literal is missing its closing bracket")
        inner = raw[1:-1]
        if "%" in inner:
            raise _invalid("IPv6 zone identifiers are refused: they pick a local interface")
        try:
            v6 = ipaddress.IPv6Address(inner)
        except ValueError:
            raise _invalid("not a valid IPv6 literal") from None
        address = canonical(v6)
        return str(address), address
    host = raw
    if "%" in host:
        try:
            host = unquote_to_bytes(host).decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid("the percent-encoded host is not UTF-8") from None
    if not host.isascii():
        try:
            # UTS 46 maps full-width digits and dots, case and compatibility forms
            # to ASCII, as browsers do, before the address check below.
            host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise _invalid("the host is not a valid internationalised domain name") from None
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if not host or any(c in _FORBIDDEN_HOST_CHARS or ord(c) < 0x20 for c in host):
        raise _invalid("the host is empty or contains characters a host cannot hold")
    if _ends_in_number(host):
        v4 = _parse_ipv4(host)
        return str(v4), v4
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise _invalid("the host is not a valid host name")
    return host, None


def _check_path(path: str) -> str:
    decoded = unquote_to_bytes(path).decode("utf-8", "replace")
    if "\\" in decoded or "\x00" in decoded:
        raise _invalid("the path holds a backslash or NUL, even if percent-encoded")
    # A segment is judged without its ";" parameters: Tomcat, Jetty and Spring
    # read "..;x" as "..", which would step out of a granted path prefix.
    if any(segment.split(";", 1)[0] in {".", ".."} for segment in decoded.split("/")):
        raise _invalid(
            "the path holds '.' or '..' segments, even if percent-encoded",
            hint="send the path already resolved, e.g. /a/c rather than /a/b/../c",
        )
    return decoded


def parse_url(url: str) -> Target:
    """Normalise ``url`` or raise ``egress.invalid_url`` / ``egress.scheme_denied``."""
    if _BAD_URL_CHAR.search(url):
        raise _invalid("the URL contains whitespace, control characters or backslashes")
    match = _SCHEME_RE.match(url)
    if match is None:
        raise _invalid("the URL has no scheme")
    try:
        scheme = Scheme(match.group(1).lower())
    except ValueError:
        raise AgentorError(
            EgressCode.SCHEME_DENIED,
            "only http and https URLs can leave the host",
            hint="use an https URL",
        ) from None
    rest = url[match.end() :]
    if not rest.startswith("//"):
        raise _invalid("the URL has no '//' authority")
    rest = rest[2:]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, remainder = rest[:end], rest[end:]
    if "@" in authority:
        raise _invalid(
            "credentials (userinfo) in URLs are refused",
            hint="send credentials in a header with a {{secret:NAME}} placeholder",
        )
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise _invalid("an IPv6 literal is missing its closing bracket")
        host_raw, after = authority[: close + 1], authority[close + 1 :]
        if after and not after.startswith(":"):
            raise _invalid("unexpected text after the IPv6 literal")
        port_raw = after[1:] if after else ""
    else:
        host_raw, _, port_raw = authority.partition(":")
        if ":" in port_raw:
            raise _invalid("the authority has more than one ':'")
    if port_raw:
        if not (port_raw.isascii() and port_raw.isdigit() and len(port_raw) <= 5):
            raise _invalid("the port is not a number")
        port = int(port_raw)
        if not 1 <= port <= 65535:
            raise _invalid("the port is out of range")
    else:
        port = _DEFAULT_PORT[scheme]
    host, address = _normal_host(host_raw)
    remainder = remainder.split("#", 1)[0]
    path, _, query = remainder.partition("?")
    path = quote(path or "/", safe=_SAFE)
    query = quote(query, safe=_SAFE)
    return Target(
        scheme=scheme,
        host=host,
        address=address,
        port=port,
        path=path,
        query=query,
        decoded_path=_check_path(path),
    )
