"""`sagashop up --detach` / `status` / `down` as a user runs them (what `make up` calls):
every service package that exists runs as its own process on the embedded broker and
database, answers /ready, is restarted by the supervisor when it dies, and stops cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
from pathlib import Path

from launcher.processes import ready_status
from launcher.stack import available_services, available_simulators, pid_alive
from tests.support.cli import sagashop, up_detached
from tests.support.kafka import eventually


async def test_up_detached_runs_every_service_ready_restarts_a_dead_one_and_down_stops_all():
    home = Path(tempfile.mkdtemp(prefix="sagashop-up-"))
    try:
        up, stack = up_detached(home)
        expected = {*available_services(), *available_simulators()}
        assert set(stack["services"]) == expected and stack["services"]
        assert stack["kafka"].startswith("127.0.0.1:") and stack["mongo"].startswith("mongodb://")
        for name, svc in stack["services"].items():
            assert svc["url"] in up.stdout, name
            assert await ready_status(svc["url"]) == 200, name
        assert "make down" in up.stdout
        assert sagashop(home, "status").returncode == 0

        victim, first = next(iter(stack["services"].items()))
        os.kill(first["pid"], signal.SIGKILL)

        async def restarted() -> bool:
            now = json.loads((home / "stack.json").read_text())["services"][victim]
            return now["pid"] != first["pid"] and await ready_status(now["url"]) == 200

        await eventually(restarted, timeout=60)
        logs = sagashop(home, "logs", victim, "-n", "5")
        assert logs.returncode == 0 and logs.stdout
    finally:
        down = sagashop(home, "down")
    assert down.returncode == 0, down.stderr
    await asyncio.sleep(0.5)
    pids = [
        stack["launcher_pid"],
        *(s["pid"] for s in stack["services"].values()),
        *(i["pid"] for i in stack["infra"].values()),
    ]
    assert not [p for p in pids if pid_alive(p)]
    assert not (home / "stack.json").exists()


async def test_a_sigkilled_launcher_leaves_no_service_broker_or_database_running():
    home = Path(tempfile.mkdtemp(prefix="sagashop-up-"))
    try:
        _, stack = up_detached(home)
        children = [
            *(s["pid"] for s in stack["services"].values()),
            *(i["pid"] for i in stack["infra"].values()),
        ]
        assert len(children) >= 3 and all(pid_alive(p) for p in children)

        os.kill(stack["launcher_pid"], signal.SIGKILL)

        async def all_gone() -> bool:
            return not [p for p in children if pid_alive(p)]

        await eventually(all_gone, timeout=30)
    finally:
        sagashop(home, "down")
