"""The ``agentor:tool`` WIT world, shipped as package data."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

WIT_PACKAGE: Final = "agentor:tool@0.1.0"
WIT_WORLD: Final = "toolbox"


def wit_dir() -> Traversable:
    """The folder holding ``agentor-tool.wit`` and ``CONTRACT.md``."""
    return resources.files("agentor_core") / "wit"


def wit_source() -> str:
    """The text of the WIT world."""
    return (wit_dir() / "agentor-tool.wit").read_text(encoding="utf-8")
