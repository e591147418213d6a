"""What the workspace holds: one record per distribution under packages/."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPOSITION_ROOT = "agentor_cli"
INTERFACE_PACKAGE = "agentor_core"


def normalise(name: str) -> str:
    """PEP 503 normalisation of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"cannot read a name from requirement {requirement!r}")
    return normalise(match.group(1))


@dataclass(frozen=True)
class Member:
    path: Path
    dist: str
    module: str
    dependencies: frozenset[str]
    test_requirements: tuple[str, ...]

    @property
    def src(self) -> Path:
        return self.path / "src" / self.module

    @property
    def tests(self) -> Path:
        """tests/<name>/ where name is the distribution without its ``agentor-`` prefix."""
        return ROOT / "tests" / self.dist.removeprefix("agentor-").replace("-", "_")


def members() -> list[Member]:
    found = []
    for pyproject in sorted(ROOT.glob("packages/*/pyproject.toml")):
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        project = data["project"]
        modules = [p.name for p in (pyproject.parent / "src").iterdir() if p.is_dir()]
        modules = [m for m in modules if not m.startswith((".", "_"))]
        if len(modules) != 1:
            raise SystemExit(f"{pyproject.parent}: expected one package under src/, got {modules}")
        found.append(
            Member(
                path=pyproject.parent,
                dist=normalise(project["name"]),
                module=modules[0],
                dependencies=frozenset(
                    requirement_name(r) for r in project.get("dependencies", [])
                ),
                test_requirements=tuple(data.get("dependency-groups", {}).get("test", [])),
            )
        )
    return found
