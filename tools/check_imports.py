"""Import contracts between distributions.

1. import-linter: agentor_core imports no other agentor distribution; only the
   composition root (agentor_cli) may import an implementation distribution;
   implementation distributions are independent of one another.
2. Every import in packages/*/src, of a third-party or sibling distribution, is
   declared in that distribution's own pyproject.toml.

The contracts are generated from the workspace, so a new distribution is
covered the moment it exists. Run inside the lint environment, where every
member is installed.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from workspace import COMPOSITION_ROOT, INTERFACE_PACKAGE, ROOT, Member, members, normalise


def importlinter_config(found: list[Member]) -> str:
    modules = [m.module for m in found]
    implementations = [m for m in modules if m not in {INTERFACE_PACKAGE, COMPOSITION_ROOT}]
    lines = ["[importlinter]", "root_packages ="]
    lines += [f"    {m}" for m in modules]
    lines += [
        "",
        "[importlinter:contract:core-stands-alone]",
        "name = agentor_core imports no other agentor distribution",
        "type = forbidden",
        f"source_modules = {INTERFACE_PACKAGE}",
        "forbidden_modules =",
    ]
    lines += [f"    {m}" for m in modules if m != INTERFACE_PACKAGE]
    if COMPOSITION_ROOT in modules:
        # import-linter only forbids modules it analyses; with --only and no CLI,
        # nothing can import the CLI anyway, so the contract is left out.
        lines += [
            "",
            "[importlinter:contract:only-cli-composes]",
            f"name = only {COMPOSITION_ROOT} composes implementations",
            "type = forbidden",
            "source_modules =",
        ]
        lines += [f"    {m}" for m in modules if m != COMPOSITION_ROOT]
        lines += ["forbidden_modules =", f"    {COMPOSITION_ROOT}"]
    if len(implementations) >= 2:
        lines += [
            "",
            "[importlinter:contract:implementations-independent]",
            "name = implementation distributions talk only through agentor_core",
            "type = independence",
            "modules =",
        ]
        lines += [f"    {m}" for m in implementations]
    return "\n".join(lines) + "\n"


def run_importlinter(found: list[Member]) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "importlinter.ini"
        config.write_text(importlinter_config(found), encoding="utf-8")
        result = subprocess.run(
            ["lint-imports", "--config", str(config), "--no-cache"], check=False, cwd=ROOT
        )
    return result.returncode == 0


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def undeclared_imports(found: list[Member]) -> list[str]:
    providers = metadata.packages_distributions()
    # Every member, not only those checked: a sibling is known by its module name
    # even when --only leaves it out (or it is not installed here).
    workspace = {m.module: m.dist for m in members()}
    problems = []
    for member in found:
        for source in sorted(member.src.rglob("*.py")):
            for top in sorted(imported_top_levels(source)):
                if top in sys.stdlib_module_names or top in {member.module, "__future__"}:
                    continue
                dists = {normalise(d) for d in providers.get(top, [])}
                if top in workspace:
                    dists = {workspace[top]}
                if not dists:
                    problems.append(
                        f"{source.relative_to(ROOT)}: imports {top!r}, which no installed "
                        "distribution provides; declare and install it"
                    )
                elif not dists & member.dependencies:
                    problems.append(
                        f"{source.relative_to(ROOT)}: imports {top!r} from "
                        f"{', '.join(sorted(dists))}, not declared in "
                        f"{member.path.relative_to(ROOT)}/pyproject.toml"
                    )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="check only these distributions (all must be installed); default: all",
    )
    args = parser.parse_args()
    found = [m for m in members() if args.only is None or m.dist in args.only]
    ok = run_importlinter(found)
    problems = undeclared_imports(found)
    for problem in problems:
        print(f"undeclared import: {problem}")
    if problems:
        print(f"{len(problems)} undeclared import(s)")
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
