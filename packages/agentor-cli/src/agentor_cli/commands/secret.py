"""``agentor secret``: store, list and remove secrets in the encrypted file store.

Values never travel on the command line (argv is visible to other users in the
process table and lands in shell history): ``set`` reads the value from stdin
or a hidden prompt. ``list`` prints names only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Final

import click

from agentor_cli.output import emit_json, handles_errors, json_option, stdout
from agentor_core.errors import AgentorError
from agentor_secrets import PASSPHRASE_ENV, EncryptedFileStore, SecretsCode
from agentor_secrets import create as create_store
from agentor_secrets.validation import MAX_VALUE_CHARS

_MAX_STDIN_BYTES: Final = MAX_VALUE_CHARS * 4 + 2

file_option = click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="AGENTOR_SECRETS_FILE",
    help="The encrypted secret file (default: secrets.json in agentor's config folder).",
)


def _interactive() -> bool:
    return sys.stdin.isatty()


def _open(path: Path | None) -> EncryptedFileStore:
    passphrase = os.environ.get(PASSPHRASE_ENV) or None
    if passphrase is None:
        if not _interactive():
            raise AgentorError(
                SecretsCode.PASSPHRASE_MISSING,
                "the secret file needs a passphrase and no terminal is attached to ask for it",
                hint=f"set {PASSPHRASE_ENV} in the environment",
            )
        passphrase = click.prompt("passphrase", hide_input=True, err=True)
    return create_store(path=path, passphrase=passphrase)


def _read_value() -> str:
    if _interactive():
        value: str = click.prompt("value", hide_input=True, confirmation_prompt=True, err=True)
        return value
    raw = sys.stdin.buffer.read(_MAX_STDIN_BYTES + 1)
    if len(raw) > _MAX_STDIN_BYTES:
        raise AgentorError(
            SecretsCode.INVALID_VALUE,
            f"the value on stdin is over {MAX_VALUE_CHARS} characters",
            hint="store a shorter value, e.g. a token rather than a file",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AgentorError(
            SecretsCode.INVALID_VALUE,
            "the value on stdin is not UTF-8 text",
            hint="base64-encode binary values before storing them",
        ) from None
    # One trailing newline is how echo and files end; it is never part of a token.
    return text.removesuffix("\n").removesuffix("\r")


@click.group()
def secret() -> None:
    """Secrets the host fills into requests for tools; tools never see the values.

    The passphrase comes from AGENTOR_SECRETS_PASSPHRASE or a prompt.
    """


@secret.command("set")
@click.argument("name")
@file_option
@json_option
@handles_errors
def set_secret(name: str, path: Path | None, as_json: bool) -> None:
    """Store NAME, reading the value from stdin or a hidden prompt (never from arguments)."""
    store = _open(path)
    existed = store.exists(name)
    store.set(name, _read_value())
    if as_json:
        emit_json({"ok": True, "name": name, "replaced": existed, "file": str(store.path)})
    else:
        stdout().print(f"{'replaced' if existed else 'stored'} {name} in {store.path}")


@secret.command("list")
@file_option
@json_option
@handles_errors
def list_secrets(path: Path | None, as_json: bool) -> None:
    """List the names of stored secrets (never their values)."""
    store = _open(path)
    names = store.names()
    if as_json:
        emit_json({"ok": True, "names": names, "file": str(store.path)})
        return
    console = stdout()
    if not names:
        console.print(f"no secrets in {store.path}")
    for name in names:
        console.print(name)


@secret.command("rm")
@click.argument("name")
@file_option
@json_option
@handles_errors
def remove_secret(name: str, path: Path | None, as_json: bool) -> None:
    """Remove NAME from the store."""
    store = _open(path)
    if not store.delete(name):
        raise AgentorError(
            SecretsCode.NOT_FOUND,
            f"no secret named {name} in {store.path}",
            hint="see the stored names with 'agentor secret list'",
        )
    if as_json:
        emit_json({"ok": True, "name": name, "removed": True, "file": str(store.path)})
    else:
        stdout().print(f"removed {name}")
