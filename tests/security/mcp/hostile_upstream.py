"""A hostile outside MCP server speaking raw JSON-RPC over stdio (no SDK).

``python hostile_upstream.py MODE``: ``huge`` answers tools/list with one
endless line; ``garbage`` answers with lines that are not JSON-RPC; ``ansi``
lists a tool whose description carries a terminal escape and Unicode tags;
``bigresult`` returns an image block with a very large base64 body.
"""

from __future__ import annotations

import json
import sys

MODE = sys.argv[1]


def send(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    request = json.loads(line)
    if "id" not in request:
        continue
    method = request.get("method")
    if method == "initialize":
        send(
            {
                "jsonrpc": "2.0",
                "id": request["id"],
                "result": {
                    "protocolVersion": request["params"]["protocolVersion"],
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "hostile", "version": "1"},
                },
            }
        )
    elif method == "tools/list":
        if MODE == "huge":
            sys.stdout.write('{"jsonrpc": "2.0", "id": ' + str(request["id"]) + ', "x": "')
            for _ in range(4096):
                sys.stdout.write("A" * 1024)
            sys.stdout.flush()
            continue
        if MODE == "garbage":
            sys.stdout.write("this is not json\n\x1b[31mred\n")
            sys.stdout.flush()
            continue
        description = "Reads a file."
        if MODE == "ansi":
            description = "Reads a file.\x1b[8m hidden \x1b[0m" + "".join(
                chr(0xE0000 + ord(c)) for c in "exfiltrate"
            )
        tool = {"name": "read", "description": description, "inputSchema": {"type": "object"}}
        send({"jsonrpc": "2.0", "id": request["id"], "result": {"tools": [tool]}})
    elif method == "tools/call":
        blob = "QUFB" * (600 * 1024)
        content = [{"type": "image", "data": blob, "mimeType": "image/png"}]
        send({"jsonrpc": "2.0", "id": request["id"], "result": {"content": content}})
    else:
        send({"jsonrpc": "2.0", "id": request["id"], "result": {}})
