"""The `sagashop` command as a user runs it: its own state directory (SAGASHOP_HOME), the
embedded broker and database (never the external URLs a test session may have)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from launcher.processes import ROOT


def cli_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SAGASHOP_KAFKA_BOOTSTRAP", "SAGASHOP_MONGO_URL")
    }
    env["SAGASHOP_HOME"] = str(home)
    return env


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "launcher.cli", *args]


def sagashop(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv(*args),
        cwd=ROOT,
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def up_detached(home: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`sagashop up --detach`, which must succeed; its output and `stack.json`."""
    up = sagashop(home, "up", "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    return up, json.loads((home / "stack.json").read_text())
