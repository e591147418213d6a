"""Fetch a web page through the host's egress guard and return its text."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Annotated, TypedDict

from agentor_toolkit.guest import Field, ToolFailure, http, tool

_SKIP = {"script", "style", "noscript", "template", "head"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP:
            self._skip += 1
        elif tag in {"p", "br", "div", "li", "h1", "h2", "h3", "tr"}:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    parser = _Text()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return parser.title.strip(), "\n".join(line for line in lines if line)


class Page(TypedDict):
    url: str
    status: int
    title: str
    text: str
    truncated: bool


@tool(read_only=True, open_world=True)
def fetch_page(
    url: Annotated[str, Field(pattern=r"^https?://", max_length=2048)],
    max_chars: Annotated[int, Field(ge=1, le=200_000)] = 20_000,
) -> Page:
    """Fetch a web page and return its readable text (scripts and styles removed).

    Args:
        url: The page to fetch; the operator must have granted its host.
        max_chars: Return at most this many characters of text.
    """
    response = http("GET", url, headers={"accept": "text/html, text/plain"})
    if response.status >= 400:
        raise ToolFailure("http_status", f"the server answered {response.status}")
    kind = response.header("content-type") or ""
    if "html" in kind or response.text.lstrip().startswith("<"):
        title, text = html_to_text(response.text)
    else:
        title, text = "", response.text
    return Page(
        url=response.url,
        status=response.status,
        title=title,
        text=text[:max_chars],
        truncated=len(text) > max_chars,
    )
