"""The client command the MCP conformance suite runs in client mode (tools/conformance.py).

The suite starts a scenario's servers and runs this with the server URL as the
last argument; for scenarios that need pre-registered credentials it puts them
in ``MCP_CONFORMANCE_CONTEXT`` (JSON). This adapter only translates that
context into ``agentor mcp client`` options (a pre-registered client id, its
secret or private key passed in an environment variable): the scenario's name is never read,
so the client behaves as it would against any server.

Usage: python tools/conformance_client.py [agentor mcp client options...] URL
"""

from __future__ import annotations

import json
import os
import sys

SECRET_VARIABLE = "AGENTOR_CONFORMANCE_CLIENT_SECRET"  # noqa: S105 - a variable name
KEY_VARIABLE = "AGENTOR_CONFORMANCE_CLIENT_KEY"


def main() -> int:
    argv = [sys.executable, "-m", "agentor_cli", "mcp", "client", *sys.argv[1:-1]]
    env = dict(os.environ)
    try:
        context = json.loads(env.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    except ValueError:
        context = {}
    if not isinstance(context, dict):
        context = {}
    client_id = context.get("client_id")
    secret = context.get("client_secret")
    key = context.get("private_key_pem")
    algorithm = context.get("signing_algorithm")
    if isinstance(client_id, str) and client_id:
        argv += ["--client-id", client_id]
        if isinstance(secret, str) and secret:
            env[SECRET_VARIABLE] = secret
            argv += ["--client-secret-env", SECRET_VARIABLE]
        if isinstance(key, str) and key:
            env[KEY_VARIABLE] = key
            argv += ["--client-key-env", KEY_VARIABLE]
            if isinstance(algorithm, str) and algorithm:
                argv += ["--client-key-alg", algorithm]
    argv.append(sys.argv[-1])
    os.execve(sys.executable, argv, env)  # noqa: S606 - argv list, no shell
    return 1  # pragma: no cover - execve does not return


if __name__ == "__main__":
    sys.exit(main())
