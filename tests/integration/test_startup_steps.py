"""Start-up on the real embedded database: versioned steps run once per database (also when
two starters race), a new step runs on the next start, and an error no retry can fix (an
index the database holds with other options, a bad setting) ends the process with the reason
instead of a wait that never ends."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from pymongo import AsyncMongoClient

from launcher.processes import ServiceProcess
from servicekit import migrations
from servicekit.runner import EXIT_PERMANENT
from tests.conftest import SpawnService

Client = AsyncMongoClient[dict[str, object]]


async def exited_within(proc: ServiceProcess, seconds: float) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.proc is not None and proc.proc.poll() is not None:
            return proc.proc.returncode
        await asyncio.sleep(0.2)
    return None


def counting(runs: dict[str, int], step_id: str, pause: float = 0.0) -> migrations.Step:
    async def run() -> None:
        runs[step_id] = runs.get(step_id, 0) + 1
        await asyncio.sleep(pause)

    return migrations.Step(step_id, run)


async def test_steps_run_once_across_starts_and_a_new_step_runs_on_the_next_start(
    mongo: Client,
) -> None:
    db: Any = mongo[f"steps-{uuid.uuid4().hex[:8]}"]
    runs: dict[str, int] = {}
    first = [counting(runs, "a-v1"), counting(runs, "b-v1")]

    assert await migrations.apply(db, first) == ["a-v1", "b-v1"]
    assert await migrations.apply(db, first) == []
    assert await migrations.apply(db, [*first, counting(runs, "c-v1")]) == ["c-v1"]

    assert runs == {"a-v1": 1, "b-v1": 1, "c-v1": 1}
    recorded = {d["_id"]: d async for d in db[migrations.COLLECTION].find()}
    assert set(recorded) == {"a-v1", "b-v1", "c-v1"}
    assert all(d["state"] == "applied" and d["appliedAt"] for d in recorded.values())


async def test_two_starters_at_once_run_a_step_once_and_both_go_on_after_it(
    mongo: Client,
) -> None:
    db: Any = mongo[f"steps-{uuid.uuid4().hex[:8]}"]
    runs: dict[str, int] = {}
    steps = [counting(runs, "slow-v1", pause=0.5), counting(runs, "next-v1")]

    ran = await asyncio.gather(
        migrations.apply(db, steps, poll=0.05), migrations.apply(db, steps, poll=0.05)
    )

    assert runs == {"slow-v1": 1, "next-v1": 1}
    assert sorted(ran[0] + ran[1]) == ["next-v1", "slow-v1"]


async def test_a_claim_left_by_a_dead_starter_is_taken_over_once_stale(mongo: Client) -> None:
    db: Any = mongo[f"steps-{uuid.uuid4().hex[:8]}"]
    runs: dict[str, int] = {}
    long_ago = migrations.utcnow().replace(year=2020)
    await db[migrations.COLLECTION].insert_one(
        {"_id": "a-v1", "state": "running", "startedAt": long_ago}
    )

    assert await migrations.apply(db, [counting(runs, "a-v1")]) == ["a-v1"]
    assert runs == {"a-v1": 1}


async def test_a_service_records_its_steps_and_does_not_rerun_them_when_restarted(
    spawn: SpawnService, mongo: Client
) -> None:
    proc = spawn("orchestra")
    await proc.wait_ready()
    steps = mongo[proc.name][migrations.COLLECTION]
    first = {d["_id"]: d["appliedAt"] async for d in steps.find()}
    assert set(first) == {"servicekit-inbox-indexes-v1", "orchestra-indexes-v1"}

    proc.restart()
    await proc.wait_ready()

    assert {d["_id"]: d["appliedAt"] async for d in steps.find()} == first


async def test_a_service_meeting_a_conflicting_index_exits_at_once_with_the_reason(
    spawn: SpawnService, mongo: Client
) -> None:
    name = f"orchestra-{uuid.uuid4().hex[:8]}"
    # the index orchestra's first step creates, but made earlier with other options
    await mongo[name]["sagas"].create_index([("createdAt", -1)], expireAfterSeconds=60)

    proc = spawn("orchestra", name=name)

    assert await exited_within(proc, 20) == EXIT_PERMANENT, proc.log_tail()
    log = proc.log_tail()
    assert "cannot start" in log
    assert "startup step orchestra-indexes-v1" in log
    assert "waiting for the database" not in log
    assert await mongo[name][migrations.COLLECTION].count_documents({}) == 1  # the inbox step


async def test_a_service_with_a_bad_setting_exits_at_once_naming_the_setting(
    spawn: SpawnService,
) -> None:
    proc = spawn("orchestra", SAGASHOP_CONSUMER_BATCH="lots")

    assert await exited_within(proc, 20) == EXIT_PERMANENT, proc.log_tail()
    lines = [line for line in proc.log_tail().splitlines() if line.strip()]
    assert len(lines) == 1, lines  # one clear line, no traceback
    assert "SAGASHOP_CONSUMER_BATCH" in lines[0]
