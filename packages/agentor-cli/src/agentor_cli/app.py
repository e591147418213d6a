"""The ``agentor`` command group. Later distributions' commands are added here."""

from __future__ import annotations

import click

from agentor_cli.commands.audit import audit
from agentor_cli.commands.doctor import doctor
from agentor_cli.commands.mcp import mcp
from agentor_cli.commands.memory import memory
from agentor_cli.commands.policy import policy
from agentor_cli.commands.run import run
from agentor_cli.commands.secret import secret
from agentor_cli.commands.serve import serve
from agentor_cli.commands.tool import tool
from agentor_cli.commands.version import print_versions, version


def _eager_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    print_versions(as_json=False)
    ctx.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_eager_version,
    help="Show every installed agentor distribution and its version, then exit.",
)
def cli() -> None:
    """Agentor: run AI agents' tools in WebAssembly sandboxes, under policy, with an audit trail.

    Every command takes --json for machine-readable output.
    """


cli.add_command(version)
cli.add_command(doctor)
cli.add_command(audit)
cli.add_command(policy)
cli.add_command(secret)
cli.add_command(tool)
cli.add_command(serve)
cli.add_command(run)
cli.add_command(memory)
cli.add_command(mcp)


def main() -> None:
    cli(prog_name="agentor")
