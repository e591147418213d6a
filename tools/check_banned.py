"""Builtins that turn strings into code, refused anywhere in packages/*/src.

ruff's banned-api list (pyproject.toml) covers modules and functions reached
through an import; it does not see bare builtins, so this AST walk does. Any
*reference* counts, not only a call: ``f = eval`` is as dangerous as ``eval(x)``.
"""

from __future__ import annotations

import ast
import sys

from workspace import ROOT, members

BANNED_BUILTINS = {
    "eval": "never evaluate strings as code",
    "exec": "never execute strings as code",
    "compile": "never compile strings as code",
    "__import__": "import by name through importlib.metadata entry points instead",
    "breakpoint": "a debugger hook must not ship",
}


def findings() -> list[str]:
    found = []
    for member in members():
        for source in sorted(member.src.rglob("*.py")):
            tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
            for node in ast.walk(tree):
                name = None
                if isinstance(node, ast.Name) and node.id in BANNED_BUILTINS:
                    name = node.id
                elif (
                    isinstance(node, ast.Attribute)
                    and node.attr in BANNED_BUILTINS
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "builtins"
                ):
                    name = node.attr
                if name is not None:
                    where = f"{source.relative_to(ROOT)}:{node.lineno}:{node.col_offset + 1}"
                    found.append(f"{where}: `{name}` is banned: {BANNED_BUILTINS[name]}")
    return found


def main() -> int:
    problems = findings()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} banned builtin reference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
