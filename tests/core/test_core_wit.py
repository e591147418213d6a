"""The agentor:tool WIT world shipped as package data."""

from __future__ import annotations

import re

from agentor_core.wit import WIT_PACKAGE, WIT_WORLD, wit_dir, wit_source


def test_package_and_world() -> None:
    source = wit_source()
    assert WIT_PACKAGE == "agentor:tool@0.1.0"
    assert WIT_WORLD == "toolbox"
    assert "package agentor:tool@0.1.0;" in source
    assert re.search(r"^world toolbox \{", source, re.MULTILINE)


def test_world_exports_describe_and_call() -> None:
    world = wit_source().split("world toolbox {", 1)[1]
    assert "import host;" in world
    assert re.search(r"export describe: func\(\) -> string;", world)
    assert re.search(
        r"export call: func\(name: string, args: string\) -> result<string, tool-error>;", world
    )


def test_host_interface_functions() -> None:
    source = wit_source()
    host = source.split("interface host {", 1)[1].split("world toolbox", 1)[0]
    for function in ("log", "progress", "now", "http-fetch", "secret-exists"):
        assert re.search(rf"^\s*{re.escape(function)}: func\(", host, re.MULTILINE), function
    assert "http-fetch: func(request: http-request) -> result<http-response, http-error>;" in host
    assert "secret-exists: func(name: string) -> bool;" in host


def test_no_ambient_network_in_the_world() -> None:
    # The world imports only the host interface: no wasi:http, no wasi:sockets.
    imports = re.findall(r"^\s*import ([^;]+);", wit_source(), re.MULTILINE)
    assert imports == ["host"]


def test_contract_beside_the_wit() -> None:
    folder = wit_dir()
    assert (folder / "agentor-tool.wit").is_file()
    contract = folder / "CONTRACT.md"
    assert contract.is_file()
    text = contract.read_text(encoding="utf-8")
    assert "agentor:tool" in text
    assert "describe()" in text
