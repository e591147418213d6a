"""Each distribution is complete and the workspace agrees with it.

For every member of packages/: an ``__about__.py`` version, ``py.typed``, a
README with the sections an auditor needs, a CHANGELOG with an entry for the
current version, tests in ``tests/<name>/``, a row in the root README, and its
test dependency group available to ``hatch test`` (hatch.toml), so the full
suite never silently skips what the isolated run tests.
"""

from __future__ import annotations

import re
import sys
import tomllib

from workspace import ROOT, members, requirement_name

README_SECTIONS = ("trust", "refuse")


def version_of(about: str) -> str | None:
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', about, re.MULTILINE)
    return match.group(1) if match else None


def main() -> int:
    problems: list[str] = []
    hatch = tomllib.loads((ROOT / "hatch.toml").read_text(encoding="utf-8"))
    test_env = hatch["envs"]["hatch-test"]
    available = {requirement_name(r) for r in test_env.get("extra-dependencies", [])}
    available |= {"pytest"}  # hatch test brings it
    root_readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for member in members():
        rel = member.path.relative_to(ROOT)
        about = member.src / "__about__.py"
        version = version_of(about.read_text(encoding="utf-8")) if about.exists() else None
        if version is None:
            problems.append(f"{rel}: no __version__ in src/{member.module}/__about__.py")
        if not (member.src / "py.typed").exists():
            problems.append(f"{rel}: src/{member.module}/py.typed is missing")
        readme = member.path / "README.md"
        text = readme.read_text(encoding="utf-8").lower() if readme.exists() else ""
        for section in README_SECTIONS:
            if section not in text:
                problems.append(f"{rel}/README.md: say what it {section}s (auditors read this)")
        changelog = member.path / "CHANGELOG.md"
        log = changelog.read_text(encoding="utf-8") if changelog.exists() else ""
        if version and not re.search(rf"^## {re.escape(version)}\b", log, re.MULTILINE):
            problems.append(f"{rel}/CHANGELOG.md: no '## {version}' entry for the current version")
        if not member.tests.is_dir():
            problems.append(f"{rel}: no tests in {member.tests.relative_to(ROOT)}/")
        if f"[{member.dist}]" not in root_readme:
            problems.append(f"README.md: no row linking [{member.dist}]({rel})")
        missing = {requirement_name(r) for r in member.test_requirements} - available
        if missing:
            problems.append(
                f"hatch.toml: [envs.hatch-test] extra-dependencies lacks {sorted(missing)}, "
                f"which {member.dist}'s tests need"
            )
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} workspace problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
