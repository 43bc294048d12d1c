"""Who may import whom: the services run without the launcher and the trials (the image copies
neither trials/ nor needs launcher/ beyond its topic tool), and `sagashop up` does not load the
trials (the CLI imports them only inside `bench`, `chaos` and `report-bench`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from launcher.processes import ROOT
from launcher.stack import SERVICE_PACKAGES, WEB_FRONT

SHARED = ("schemas", "servicekit")


def imported_packages(package: str) -> dict[str, set[str]]:
    """Every top-level package a module of `package` imports, lazily inside a function too."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_no_service_or_shared_package_imports_the_launcher_or_the_trials() -> None:
    packages = sorted({*SERVICE_PACKAGES, WEB_FRONT, *SHARED})
    reaching_up = {
        module: sorted(names & {"launcher", "trials"})
        for package in packages
        for module, names in imported_packages(package).items()
        if names & {"launcher", "trials"}
    }
    assert reaching_up == {}


def test_the_launcher_never_imports_the_trials_at_module_level() -> None:
    for path in sorted((ROOT / "launcher").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        modules = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m.split(".")[0] == "trials"], path


def test_sagashop_up_loads_no_trial_module() -> None:
    probe = (
        "import sys, launcher.cli, launcher.stack, launcher.topics, launcher.mail\n"
        "launcher.cli.parser()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'trials'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=Path(ROOT), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
