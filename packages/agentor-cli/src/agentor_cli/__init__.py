"""agentor-cli: the ``agentor`` command, the composition root of Agentor for Python."""

from agentor_cli.__about__ import __version__

__all__ = ["__version__"]
