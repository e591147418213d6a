"""``agentor version``: the installed agentor distributions and their versions."""

from __future__ import annotations

import platform

import click
from rich.table import Table

from agentor_cli.output import emit_json, json_option, stdout
from agentor_core import discovery


def print_versions(*, as_json: bool) -> None:
    dists = discovery.installed_distributions()
    if as_json:
        emit_json(
            {
                "ok": True,
                "python": platform.python_version(),
                "distributions": {d.name: d.version for d in dists},
            }
        )
        return
    table = Table(title="agentor distributions", title_justify="left")
    table.add_column("distribution")
    table.add_column("version")
    for dist in dists:
        table.add_row(dist.name, dist.version)
    stdout().print(table)


@click.command()
@json_option
def version(as_json: bool) -> None:
    """Show every installed agentor distribution and its version."""
    print_versions(as_json=as_json)
