"""Carried values corpus: a value the host's client may carry to ``a.test`` never leaves elsewhere.

The secret is granted ``carried_in = {header, body, response}`` towards
``http://a.test`` only. Every spelling of it, in every place of a request to
``b.test`` (the same machine, another audience), is refused with
``egress.secret_leak`` and nothing arrives; towards ``a.test`` the URL and header
names stay closed whatever is granted.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from agentor_core.capabilities import Capabilities, SecretGrant
from agentor_core.egress import HttpRequest
from agentor_core.errors import AgentorError
from agentor_egress import EgressCode, HttpEgressGuard, StaticResolver

servers = sys.modules["egress_servers"]

VALUE = "cs-6a0f3e9d2b71c845+/="
SPELLINGS = {
    "raw": VALUE,
    "percent": quote(VALUE, safe=""),
    "base64": base64.b64encode(VALUE.encode()).decode(),
    "base64url": base64.urlsafe_b64encode(VALUE.encode()).decode(),
    "base64-unpadded": base64.b64encode(VALUE.encode()).decode().rstrip("="),
}


@pytest.fixture(scope="module")
def b_server() -> Iterator[Any]:
    with servers.serve() as running:
        yield running


@pytest.fixture(scope="module")
def a_server() -> Iterator[Any]:
    with servers.serve() as running:
        yield running


def _grant(a_server: Any, b_server: Any) -> Capabilities:
    return servers.grant(
        servers.local(a_server.port, host="a.test"),
        servers.local(b_server.port, host="b.test"),
        secrets=(
            SecretGrant(
                name="CLIENT_SECRET",
                audiences=("http://a.test",),
                carried_in=frozenset({"header", "body", "response"}),
            ),
        ),
    )


def _cases(port_b: str) -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = []
    for label, spelled in SPELLINGS.items():
        cases += [
            (f"header-{label}", {"headers": (("X-Key", spelled),)}),
            (f"bearer-{label}", {"headers": (("Authorization", f"Bearer {spelled}"),)}),
            (f"body-{label}", {"method": "POST", "body": f"secret={spelled}".encode()}),
            (f"url-{label}", {"url": f"http://b.test:{port_b}/echo?k={spelled}"}),
        ]
    for user in ("client", "", "a:b"):
        basic = base64.b64encode(f"{user}:{quote(VALUE, safe='')}".encode()).decode()
        cases.append((f"basic-{user}", {"headers": (("Authorization", f"Basic {basic}"),)}))
    cases.append(("header-name", {"headers": ((SPELLINGS["base64url"].rstrip("="), "1"),)}))
    return cases


CASE_NAMES = [name for name, _ in _cases("0")]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_a_carried_value_never_reaches_another_audience(
    a_server: Any, b_server: Any, case: str
) -> None:
    fields = dict(_cases(str(b_server.port)))[case]
    request = HttpRequest.model_validate({"url": f"http://b.test:{b_server.port}/echo", **fields})
    store = servers.DictSecrets({"CLIENT_SECRET": VALUE})
    resolver = StaticResolver({"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]})
    before = len(b_server.seen)
    with (
        HttpEgressGuard(secrets=store, resolver=resolver) as guard,
        pytest.raises(AgentorError) as caught,
    ):
        guard.send(request, _grant(a_server, b_server))
    assert caught.value.code == EgressCode.SECRET_LEAK
    assert VALUE not in str(caught.value)
    assert len(b_server.seen) == before


@pytest.mark.parametrize(
    "fields",
    [
        {"url_suffix": f"?k={SPELLINGS['percent']}"},
        {"headers": ((SPELLINGS["base64url"].rstrip("="), "1"),)},
    ],
    ids=["url", "header-name"],
)
def test_the_url_and_header_names_stay_closed_towards_the_bound_audience(
    a_server: Any, b_server: Any, fields: dict[str, Any]
) -> None:
    suffix = fields.pop("url_suffix", "")
    request = HttpRequest.model_validate(
        {"url": f"http://a.test:{a_server.port}/echo{suffix}", **fields}
    )
    store = servers.DictSecrets({"CLIENT_SECRET": VALUE})
    resolver = StaticResolver({"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]})
    before = len(a_server.seen)
    with (
        HttpEgressGuard(secrets=store, resolver=resolver) as guard,
        pytest.raises(AgentorError) as caught,
    ):
        guard.send(request, _grant(a_server, b_server))
    assert caught.value.code == EgressCode.SECRET_LEAK
    assert len(a_server.seen) == before
