"""Connections pinned to the address the guard checked.

httpx (through httpcore) sees the real host name, so TLS SNI, certificate
verification and the Host header all use the name; the network backend below
ignores the name when it opens the socket and connects to the checked address
instead. No second DNS lookup happens, so DNS rebinding between the check and
the connection cannot switch the target.
"""

from __future__ import annotations

import ssl
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, Final

import httpcore
import httpx

_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class _PinnedBackend(httpcore.NetworkBackend):
    def __init__(self, address: str) -> None:
        self._address: Final = address
        self._base: Final = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        # ``host`` is the name, used by httpcore for SNI and certificate checks;
        # the socket goes to the address the guard checked, never to a fresh lookup.
        return self._base.connect_tcp(
            self._address, port, timeout, local_address, socket_options=socket_options
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("the egress guard never opens Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._base.sleep(seconds)


class _Stream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport whose every connection goes to one checked address.

    httpcore exceptions are left as they are (the guard maps them to codes).
    """

    def __init__(self, address: str, ssl_context: ssl.SSLContext) -> None:
        self._pool: Final = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=16,
            max_keepalive_connections=8,
            keepalive_expiry=30.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_PinnedBackend(address),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):  # pragma: no cover
            raise TypeError("the egress guard sends synchronous bodies only")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = self._pool.handle_request(core_request)
        stream: Any = response.stream
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Stream(stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class TransportCache:
    """Keep-alive pools keyed by (scheme, host, port, checked address), least recently used out.

    The address is in the key so a connection made for one checked address is
    never reused after the name has come to mean another.
    """

    def __init__(self, ssl_context: ssl.SSLContext, capacity: int) -> None:
        self._ssl: Final = ssl_context
        self._capacity: Final = capacity
        self._lock = threading.Lock()
        self._pools: OrderedDict[tuple[str, str, int, str], PinnedTransport] = OrderedDict()

    def get(self, scheme: str, host: str, port: int, address: str) -> PinnedTransport:
        key = (scheme, host, port, address)
        evicted: list[PinnedTransport] = []
        with self._lock:
            transport = self._pools.get(key)
            if transport is None:
                transport = PinnedTransport(address, self._ssl)
                self._pools[key] = transport
                while len(self._pools) > self._capacity:
                    evicted.append(self._pools.popitem(last=False)[1])
            else:
                self._pools.move_to_end(key)
        for old in evicted:
            old.close()
        return transport

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for transport in pools:
            transport.close()
