"""The host side of the ``agentor:tool`` world: the only imports a component gets besides WASI.

Each function runs on the thread that called into the guest, finds that call's
:class:`~agentor_sandbox.state.CallState`, and never raises: an exception in a
host import would surface as a trap with an unrelated message, so every failure
becomes a value the guest can read and, where a limit is involved, a trip that
decides the call's error code.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Final

from wasmtime import component as wc

from agentor_core.egress import HttpRequest, HttpResponse
from agentor_core.errors import AgentorError
from agentor_core.interfaces import EgressGuard, SecretStore
from agentor_core.validation import parse_untrusted
from agentor_sandbox.codes import SandboxCode
from agentor_sandbox.state import current

_log = logging.getLogger(__name__)

HOST_INTERFACE: Final = "agentor:tool/host@0.1.0"


@dataclass(frozen=True, slots=True)
class HostServices:
    egress: EgressGuard | None
    secrets: SecretStore | None


def _record(**fields: Any) -> wc.Record:
    record = wc.Record()
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def _err(code: str, message: str) -> wc.Variant:
    return wc.Variant("err", _record(code=code, message=message[:1024]))


def _response(resp: HttpResponse) -> wc.Variant:
    headers = [_record(name=name, value=value) for name, value in resp.headers]
    return wc.Variant(
        "ok", _record(status=resp.status, url=resp.url, headers=headers, body=bytes(resp.body))
    )


def _request(raw: Any) -> HttpRequest:
    data = {
        "method": str(raw.method).upper(),
        "url": raw.url,
        "headers": tuple((h.name, h.value) for h in raw.headers),
        "body": bytes(raw.body),
    }
    return parse_untrusted(HttpRequest, data, source="http-fetch request")


def http_fetch(services: HostServices, raw: Any) -> wc.Variant:
    state = current()
    if state is None:
        return _err(SandboxCode.INTERNAL, "http-fetch outside a call")
    state.http_requests += 1
    if state.http_requests > state.limits.http_requests:
        state.trip(SandboxCode.HTTP_REQUESTS_EXHAUSTED)
        return _err(
            SandboxCode.HTTP_REQUESTS_EXHAUSTED,
            f"this call may send at most {state.limits.http_requests} requests",
        )
    if services.egress is None:
        return _err(SandboxCode.EGRESS_UNAVAILABLE, "the host has no egress guard configured")
    try:
        request = _request(raw)
        response = services.egress.send(request, state.grant)
    except AgentorError as exc:
        return _err(exc.code, exc.message)
    except Exception as exc:  # noqa: BLE001 - a guard bug must not become a host crash or a trap
        _log.exception("egress guard failed", extra={"call_id": state.call_id})
        return _err(SandboxCode.INTERNAL, f"the egress guard failed: {type(exc).__name__}")
    return _response(response)


def secret_exists(services: HostServices, name: str) -> bool:
    state = current()
    if state is None or services.secrets is None:
        return False
    if name not in {grant.name for grant in state.grant.secrets}:
        return False
    try:
        return bool(services.secrets.exists(name))
    except Exception:  # noqa: BLE001 - an unreadable store answers "no", never crashes the call
        _log.exception("secret store failed", extra={"call_id": state.call_id})
        return False


def define_host(linker: wc.Linker, services: HostServices) -> None:
    """Add the ``host`` interface to ``linker``. Nothing else of the world is host-provided."""

    def log(_store: Any, level: Any, message: str) -> None:
        state = current()
        if state is not None:
            state.log(str(level), message)

    def progress(_store: Any, done: int, total: int, message: str) -> None:
        state = current()
        if state is not None:
            state.report_progress(done, total, message)

    def now(_store: Any) -> int:
        return time.time_ns() // 1_000_000

    def fetch(_store: Any, request: Any) -> wc.Variant:
        return http_fetch(services, request)

    def exists(_store: Any, name: str) -> bool:
        return secret_exists(services, name)

    with linker.root() as root, root.add_instance(HOST_INTERFACE) as host:
        host.add_func("log", log)
        host.add_func("progress", progress)
        host.add_func("now", now)
        host.add_func("http-fetch", fetch)
        host.add_func("secret-exists", exists)
