"""agentor-toolkit: write a tool in Python, get a signed WebAssembly component.

The host side (this package) builds, signs, verifies and inspects components;
:mod:`agentor_toolkit.guest` is the standard-library-only SDK compiled into them.
"""

from agentor_toolkit.__about__ import __version__

__all__ = ["__version__"]
