"""Outside servers' resources and prompts, namespaced by server, bounded and scanned.

Resources are re-served under ``agentor-outside://NAME/<percent-encoded original URI>``
(their names as ``NAME.name``); prompts as ``NAME.prompt``. Every listing
reaches the servers (no cache), keeps at most :data:`MAX_ENTRIES_PER_SERVER` of
each kind per server, and leaves out entries whose name or description the
poisoning scan refuses under ``[proxy] on_poisoning`` (audited once). Reads and
prompt renders are bounded by the server's ``max_result_bytes`` and the grant.

The policy sees a read as a call of a virtual tool of that server:
``NAME.resources.read`` with ``{"uri": <original URI>}`` and
``NAME.prompts.get`` with ``{"name": <prompt>, "arguments": {...}}``; the bridge
decides and audits them like any call. An outside tool may not take one of
these names (the proxy refuses it), so a rule for one never matches the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote, unquote, urlsplit

import mcp_types as types
from mcp import Client
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from agentor_core.audit import AuditEventType
from agentor_core.canonical import canonical_json, sha256_hex
from agentor_core.errors import AgentorError
from agentor_mcp.codes import McpCode
from agentor_mcp.poisoning import Finding, scan_tool

if TYPE_CHECKING:
    from agentor_mcp.proxy import OutsideServers, _Upstream

OUTSIDE_SCHEME: Final = "agentor-outside"
READ_RESOURCE: Final = "resources.read"
GET_PROMPT: Final = "prompts.get"
RESERVED_TOOL_NAMES: Final = frozenset({READ_RESOURCE, GET_PROMPT})
"""Virtual tool names the policy sees for reads; no outside tool may take them."""
MAX_ENTRIES_PER_SERVER: Final = 1000
MAX_PROMPT_MESSAGES: Final = 256
_MAX_PAGES: Final = 64
_MAX_NAME_CHARS: Final = 256
_MAX_TEXT_CHARS: Final = 8192
_HIGH: Final = frozenset(
    {Finding.UNICODE_TAGS, Finding.INVISIBLE, Finding.CONTROL, Finding.INSTRUCTIONS}
)

_T = TypeVar("_T")


def served_uri(server: str, uri: str) -> str:
    return f"{OUTSIDE_SCHEME}://{server}/{quote(uri, safe='')}"


def parse_served_uri(uri: str) -> tuple[str, str] | None:
    """``(server, original URI)`` for an ``agentor-outside://`` URI, else None."""
    if not uri.startswith(f"{OUTSIDE_SCHEME}://"):
        return None
    parts = urlsplit(uri)
    original = unquote(parts.path[1:])
    if not parts.netloc or not original:
        return None
    return parts.netloc, original


def _refused(server: str, name: str, description: str | None, mode: str) -> list[str]:
    hits = scan_tool(name, description)
    return sorted(
        {
            f"{hit.finding} in {hit.where}"
            for hit in hits
            if mode == "refuse_any" or (mode == "refuse_high" and hit.finding in _HIGH)
        }
    )


class OutsideCatalog:
    """Resources and prompts of the servers of one :class:`OutsideServers`."""

    def __init__(self, outside: OutsideServers) -> None:
        self.outside = outside

    # -- listing ---------------------------------------------------------------------

    async def _pages(
        self,
        upstream: _Upstream,
        fetch: Callable[[Client, str | None], Awaitable[Any]],
        items: Callable[[Any], Sequence[_T]],
    ) -> list[_T]:
        client = await upstream.connected()
        found: list[_T] = []
        cursor: str | None = None
        async with asyncio.timeout(upstream.entry.timeout_seconds):
            for _ in range(_MAX_PAGES):
                page = await fetch(client, cursor)
                found += items(page)[: MAX_ENTRIES_PER_SERVER - len(found)]
                cursor = page.next_cursor
                if cursor is None or len(found) >= MAX_ENTRIES_PER_SERVER:
                    break
        return found

    def _gather(self, kind: str) -> dict[str, list[Any]]:
        upstreams = dict(self.outside._upstreams)

        async def one(upstream: _Upstream) -> list[Any]:
            try:
                client = await upstream.connected()
                capabilities = client.server_capabilities
                if kind == "resources":
                    if capabilities.resources is None:
                        return []
                    return await self._pages(
                        upstream,
                        lambda c, cursor: c.list_resources(cursor=cursor),
                        lambda page: page.resources,
                    )
                if capabilities.prompts is None:
                    return []
                return await self._pages(
                    upstream,
                    lambda c, cursor: c.list_prompts(cursor=cursor),
                    lambda page: page.prompts,
                )
            except (AgentorError, MCPError, TimeoutError, OSError):
                # One server that is down or refuses must not hide the others' entries.
                return []

        async def every() -> list[list[Any]]:
            return list(await asyncio.gather(*(one(u) for u in upstreams.values())))

        timeout = max((u.entry.timeout_seconds for u in upstreams.values()), default=1.0)
        if not upstreams:
            return {}
        try:
            found: list[list[Any]] = self.outside._wait(every(), timeout * 2 + 5)
        except TimeoutError:
            return {}
        return dict(zip(upstreams, found, strict=True))

    def _keep(self, server: str, served: str, name: str, description: str | None) -> bool:
        if len(name) > _MAX_NAME_CHARS or len(description or "") > _MAX_TEXT_CHARS:
            return False
        refused = _refused(server, name, description, self.outside.proxy.on_poisoning)
        if refused:
            pin = sha256_hex(canonical_json({"server": server, "name": name, "text": description}))
            self.outside._note(
                AuditEventType.MCP_SERVER_CHANGED,
                served,
                pin,
                McpCode.TOOL_POISONED,
                {"server": server, "entry": name[:200], "findings": refused[:32]},
            )
        return not refused

    def resources(self) -> list[types.Resource]:
        """Every outside server's resources, namespaced (a fresh listing)."""
        served: list[types.Resource] = []
        for server, entries in sorted(self._gather("resources").items()):
            for entry in entries:
                uri = str(entry.uri)
                name = f"{server}.{entry.name}"
                if len(uri) > _MAX_TEXT_CHARS or not self._keep(
                    server, name, entry.name, entry.description
                ):
                    continue
                served.append(
                    types.Resource(
                        uri=served_uri(server, uri),
                        name=name,
                        title=entry.title,
                        description=entry.description,
                        mime_type=entry.mime_type,
                    )
                )
        return served

    def prompts(self) -> list[types.Prompt]:
        """Every outside server's prompts as ``NAME.prompt`` (a fresh listing)."""
        served: list[types.Prompt] = []
        for server, entries in sorted(self._gather("prompts").items()):
            for entry in entries:
                name = f"{server}.{entry.name}"
                arguments = entry.arguments or []
                texts = " ".join(a.description or "" for a in arguments)
                if len(arguments) > 64 or not self._keep(
                    server, name, entry.name, f"{entry.description or ''} {texts}".strip()
                ):
                    continue
                served.append(
                    types.Prompt(
                        name=name,
                        title=entry.title,
                        description=entry.description,
                        arguments=arguments,
                    )
                )
        return served

    # -- reads -----------------------------------------------------------------------

    def _upstream(self, server: str) -> _Upstream:
        upstream = self.outside._upstreams.get(server)
        if upstream is None:
            raise AgentorError(
                McpCode.RESOURCE_NOT_FOUND,
                f"no outside server {server[:64]!r} is configured",
                hint="call resources/list or prompts/list for what is served",
            )
        return upstream

    def _run(self, upstream: _Upstream, work: Callable[[Client], Awaitable[_T]]) -> _T:
        async def go() -> _T:
            client = await upstream.connected()
            try:
                async with asyncio.timeout(upstream.entry.timeout_seconds):
                    return await work(client)
            except TimeoutError:
                raise AgentorError(
                    McpCode.UPSTREAM_TIMEOUT,
                    f"outside server {upstream.name} did not answer in time",
                    hint="raise timeout_seconds of this [servers] entry",
                ) from None
            except MCPError as exc:
                raise AgentorError(
                    McpCode.UPSTREAM_ERROR,
                    f"outside server {upstream.name} refused: {str(exc)[:300]}",
                ) from None

        try:
            result: _T = self.outside._wait(go(), upstream.entry.timeout_seconds + 5)
        except TimeoutError:
            raise AgentorError(
                McpCode.UPSTREAM_TIMEOUT,
                f"outside server {upstream.name} did not answer in time",
                hint="raise timeout_seconds of this [servers] entry",
            ) from None
        return result

    @staticmethod
    def _too_large(server: str, limit: int) -> AgentorError:
        return AgentorError(
            McpCode.UPSTREAM_RESULT_INVALID,
            f"what outside server {server} returned is larger than {limit} bytes; withheld",
            hint="raise max_result_bytes of the [servers] entry if the size is expected",
        )

    def read(
        self, server: str, uri: str, limit: int
    ) -> list[types.TextResourceContents | types.BlobResourceContents]:
        """Read ``uri`` from ``server``; contents over ``limit`` bytes are withheld."""
        upstream = self._upstream(server)
        limit = min(limit, upstream.entry.max_result_bytes)
        result = self._run(upstream, lambda client: client.read_resource(uri))
        contents: list[types.TextResourceContents | types.BlobResourceContents] = []
        size = 0
        for body in result.contents[:MAX_PROMPT_MESSAGES]:
            if isinstance(body, types.TextResourceContents):
                size += len(body.text.encode("utf-8", "surrogatepass"))
                contents.append(body.model_copy(update={"uri": served_uri(server, str(body.uri))}))
            else:
                size += len(body.blob)
                contents.append(body.model_copy(update={"uri": served_uri(server, str(body.uri))}))
            if size > limit:
                raise self._too_large(server, limit)
        return contents

    def get_prompt(
        self, server: str, name: str, arguments: dict[str, str] | None, limit: int
    ) -> types.GetPromptResult:
        """Render prompt ``name`` of ``server``; a result over ``limit`` bytes is withheld."""
        upstream = self._upstream(server)
        limit = min(limit, upstream.entry.max_result_bytes)
        result = self._run(upstream, lambda client: client.get_prompt(name, arguments))
        if len(result.messages) > MAX_PROMPT_MESSAGES:
            raise AgentorError(
                McpCode.UPSTREAM_RESULT_INVALID,
                f"prompt {server}.{name} has more than {MAX_PROMPT_MESSAGES} messages; withheld",
            )
        try:
            size = len(canonical_json(result.model_dump(mode="json", by_alias=True)))
        except (ValueError, ValidationError):
            raise AgentorError(
                McpCode.UPSTREAM_RESULT_INVALID, f"prompt {server}.{name} is not valid JSON"
            ) from None
        if size > limit:
            raise self._too_large(server, limit)
        return result
