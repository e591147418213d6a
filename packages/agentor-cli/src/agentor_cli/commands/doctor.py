"""``agentor doctor``: a true report of this installation and how to fix what is missing."""

from __future__ import annotations

import sys

import click
from rich.text import Text

from agentor_cli.doctor import Status, run_all
from agentor_cli.output import EXIT_FAILED, emit_json, json_option, stdout

_STYLE = {
    Status.OK: "green",
    Status.INFO: "cyan",
    Status.WARN: "yellow",
    Status.ERROR: "bold red",
}


@click.command()
@json_option
def doctor(as_json: bool) -> None:
    """Check Python, wasmtime, installed distributions, plugins and folders.

    Exits 1 when any check is an error: agentor cannot run safely until it is fixed.
    """
    checks = run_all()
    failed = any(check.status is Status.ERROR for check in checks)
    if as_json:
        emit_json({"ok": not failed, "checks": [c.model_dump(mode="json") for c in checks]})
    else:
        console = stdout()
        area = None
        for check in checks:
            if check.area != area:
                area = check.area
                console.print(Text(area, style="bold"))
            console.print(
                Text.assemble(
                    "  ",
                    (f"{check.status.value:<5}", _STYLE[check.status]),
                    f" {check.name:<22} {check.detail}",
                )
            )
            if check.fix:
                console.print(Text(f"{'':30}fix: {check.fix}", style="dim"))
        errors = sum(check.status is Status.ERROR for check in checks)
        console.print(
            Text(f"{errors} error(s): fix them before running tools", style="bold red")
            if failed
            else Text("no errors: agentor can run here", style="green")
        )
    if failed:
        sys.exit(EXIT_FAILED)
