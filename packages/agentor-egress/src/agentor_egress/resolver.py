"""Name resolution, pluggable so tests and operators can say what a name means."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import Final, Protocol, runtime_checkable

from agentor_core.errors import AgentorError
from agentor_egress.addresses import IPAddress
from agentor_egress.codes import EgressCode

MAX_ADDRESSES: Final = 64


@runtime_checkable
class Resolver(Protocol):
    """Turns a host name into addresses. The guard checks every one and connects to the first.

    Raise :class:`AgentorError` with ``egress.resolution_failed`` when the name
    does not resolve. The guard calls this once per hop and never again for it,
    so what was checked is what is connected to.
    """

    def resolve(self, host: str, port: int) -> Sequence[IPAddress]: ...


def _failed(host: str, why: str) -> AgentorError:
    return AgentorError(
        EgressCode.RESOLUTION_FAILED,
        f"{host} did not resolve: {why}",
        hint="check the host name in the request and the machine's DNS",
    )


class SystemResolver:
    """The operating system's resolver (``socket.getaddrinfo``)."""

    def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise _failed(host, type(exc).__name__) from None
        found: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos[:MAX_ADDRESSES]:
            text = str(sockaddr[0]).split("%", 1)[0]
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if address not in found:
                found.append(address)
        if not found:
            raise _failed(host, "no IPv4 or IPv6 address")
        return found


class StaticResolver:
    """A fixed table of names to addresses; any other name fails to resolve.

    For tests, and for hosts that pin their upstreams by configuration.
    """

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._table: Final = {
            name.lower().rstrip("."): tuple(ipaddress.ip_address(a) for a in addresses)
            for name, addresses in table.items()
        }

    def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        found = self._table.get(host)
        if not found:
            raise _failed(host, "not in the static table")
        return found
