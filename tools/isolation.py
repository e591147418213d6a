"""Build every distribution, check it, and test each one alone.

For each member of the workspace: build its wheel and sdist with hatch, run
``twine check``, create a fresh virtual environment, install only that wheel,
the sibling wheels it requires (from this build, never from an index) and its
declared dependencies, then run ``tests/<name>/`` there. A distribution that
imports something it does not declare fails here.

Usage: python tools/isolation.py [--keep] [DIST ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from email.parser import Parser
from pathlib import Path

from workspace import ROOT, Member, members, requirement_name


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def build(member: Member, out: Path) -> Path:
    # Run from a hatch environment, the nested hatch would look for that
    # environment in the member's project; build as a fresh top-level call.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HATCH_ENV")}
    run(["hatch", "build", "-t", "wheel", "-t", "sdist", str(out)], cwd=member.path, env=env)
    wheels = sorted(out.glob(f"{member.dist.replace('-', '_')}-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"{member.dist}: expected one wheel in {out}, found {wheels}")
    return wheels[0]


def wheel_requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(name).decode("utf-8"))
    return [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]


def closure(member: Member, wheels: dict[str, Path]) -> list[Path]:
    """The wheel of ``member`` and of every workspace sibling it needs, transitively."""
    todo, seen = [member.dist], []
    while todo:
        dist = todo.pop()
        if dist in seen:
            continue
        seen.append(dist)
        names = (requirement_name(r) for r in wheel_requirements(wheels[dist]))
        todo += [name for name in names if name in wheels]
    return [wheels[d] for d in seen]


def test_alone(member: Member, wheels: dict[str, Path], venvs: Path) -> None:
    if not member.tests.is_dir() or not any(member.tests.rglob("test_*.py")):
        raise SystemExit(f"{member.dist}: no tests in {member.tests.relative_to(ROOT)}")
    venv = venvs / member.dist
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, *map(str, closure(member, wheels)), *member.test_requirements])
    # From the repository root so pytest reads the shared configuration; the src
    # folders are not on sys.path, so only the installed wheels can be imported.
    started = time.monotonic()
    result = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            str(member.tests.relative_to(ROOT)),
        ],
        cwd=ROOT,
        check=False,
    )
    if result.returncode == 5:
        raise SystemExit(f"{member.dist}: pytest collected no tests")
    if result.returncode != 0:
        raise SystemExit(f"{member.dist}: tests failed in isolation (exit {result.returncode})")
    print(f"{member.dist}: passed alone in {time.monotonic() - started:.1f}s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dists", nargs="*", help="only these distributions (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the wheels and venvs")
    args = parser.parse_args()

    found = members()
    unknown = set(args.dists) - {m.dist for m in found}
    if unknown:
        parser.error(f"not in the workspace: {', '.join(sorted(unknown))}")
    chosen = [m for m in found if not args.dists or m.dist in args.dists]
    # A private folder per run, so concurrent runs never mix their wheels.
    work = Path(tempfile.mkdtemp(prefix="agentor-isolation-"))
    out = work / "dist"
    out.mkdir()
    try:
        wheels = {m.dist: build(m, out) for m in found}
        run(["twine", "check", "--strict", *map(str, sorted(out.iterdir()))])
        for member in chosen:
            test_alone(member, wheels, work / "venvs")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"isolation: {len(chosen)} distribution(s) built, checked and tested alone")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
