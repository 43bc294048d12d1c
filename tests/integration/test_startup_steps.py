"""Start-up on the real embedded database: versioned steps run once per database (also when
two starters race), a new step runs on the next start, and an error no retry can fix (an
index the database holds with other options, a bad setting) ends the process with the reason
instead of a wait that never ends."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from datetime import time as clock_time
from typing import Any

from pymongo import AsyncMongoClient

from delivery_svc import app as delivery_app
from delivery_svc.domain import advance, open_case
from delivery_svc.repository import case_fields, hold_doc, to_case, to_hold
from delivery_svc.settings import DeliverySettings
from delivery_svc.slots import Hold, Slot, Window
from launcher.processes import ServiceProcess
from notification_svc import app as notification_app
from notification_svc.domain import Kind, Notification
from notification_svc.domain import Status as NotificationStatus
from notification_svc.repository import from_doc, to_doc
from notification_svc.settings import NotificationSettings
from schemas.catalog_http import PickingStatus
from schemas.delivery_http import CaseStatus, DeliveryKind, HoldStatus
from schemas.notification import Channel
from schemas.saga import PickupChoice
from servicekit import migrations
from servicekit.runner import EXIT_PERMANENT
from servicekit.service import Service
from store_svc import app as store_app
from store_svc import views
from store_svc.domain import Allocation
from store_svc.picking_rules import entry, opened_case
from store_svc.settings import StoreSettings
from tests.conftest import SpawnService
from tests.support.infra import Infra

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


def lower_case(doc: dict[str, Any]) -> dict[str, Any]:
    """A document as it was stored before the statuses were made upper case."""
    old = {**doc, "status": str(doc["status"]).lower()}
    if "history" in doc:
        old["history"] = [{**e, "status": str(e["status"]).lower()} for e in doc["history"]]
    return old


def old_documents(now: datetime) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """One document of each kind, stored in lower case, per service (by its module)."""
    order_id = f"o-{uuid.uuid4().hex[:8]}"
    picking = opened_case(order_id, [Allocation(7, "msk", 1)], {"7": "Чашка"}, now)
    picking["history"].append(entry(PickingStatus.HANDED_OVER, now, "warehouse"))
    picking["status"] = PickingStatus.HANDED_OVER
    hold = Hold(
        order_id=order_id,
        username="ivan",
        kind=DeliveryKind.PICKUP,
        choice=PickupChoice(point_id=4).to_wire(),
        address="Москва, ул. Профсоюзная, д. 56",
        cost=0,
        slot=Slot("pickup-4", now.date(), Window(clock_time(10), clock_time(14))),
        status=HoldStatus.USED,
        expires_at=now,
    )
    opened = replace(open_case(hold, now), parcel_at=now)
    case, _ = advance(opened, CaseStatus.IN_TRANSIT, now, by="admin")
    sent = Notification(
        id=str(uuid.uuid4()),
        username="ivan",
        channel=Channel.SMS,
        kind=Kind.REGISTRATION,
        to="+79990000000",
        payload={},
        created_at=now,
        status=NotificationStatus.SENT,
    )
    case_doc = {"_id": order_id, **case_fields(case, now), "version": 1}
    return {
        "store_svc": [("picking", lower_case(picking))],
        "delivery_svc": [
            ("holds", lower_case(hold_doc(hold, now))),
            ("cases", lower_case(case_doc)),
        ],
        "notification_svc": [("notifications", lower_case(to_doc(sent)))],
    }


def test_a_document_stored_with_a_lower_case_status_reads_as_the_upper_case_one() -> None:
    """Until the startup step has run, each service's reading code takes the old spelling."""
    docs = {
        coll: doc for found in old_documents(migrations.utcnow()).values() for coll, doc in found
    }

    picking = views.picking_case(docs["picking"])
    assert picking.status is PickingStatus.HANDED_OVER
    assert [m.status for m in picking.history] == [PickingStatus.CREATED, PickingStatus.HANDED_OVER]
    assert to_hold(docs["holds"]).status is HoldStatus.USED
    assert to_case(docs["cases"]).status is CaseStatus.IN_TRANSIT
    assert from_doc(docs["notifications"]).status is NotificationStatus.SENT


async def test_lower_case_statuses_are_rewritten_by_each_services_startup_step_history_too(
    infra: Infra, mongo: Client
) -> None:
    """Picking cases, delivery holds and cases and notifications stored with the old lower-case
    status (`handed_over`, `used`, `in_transit`, `sent`) are rewritten in upper case by the
    service's own startup step, history entries too; the step runs once."""
    builders: dict[str, Callable[..., Service]] = {
        "store_svc": lambda name: store_app.build(StoreSettings(**infra_settings(infra, name))),
        "delivery_svc": lambda name: delivery_app.build(
            DeliverySettings(**infra_settings(infra, name))
        ),
        "notification_svc": lambda name: notification_app.build(
            NotificationSettings(**infra_settings(infra, name))
        ),
    }
    for module, docs in old_documents(migrations.utcnow()).items():
        name = f"{module}-{uuid.uuid4().hex[:8]}"
        db: Any = mongo[name]
        for coll, doc in docs:
            await db[coll].insert_one(doc)
        service = builders[module](name)
        try:
            ran = await migrations.apply(db, service.steps)
            assert await migrations.apply(db, service.steps) == []
        finally:
            await service.mongo.close()

        assert [step for step in ran if "status-upper" in step], ran
        for coll, doc in docs:
            stored = await db[coll].find_one({"_id": doc["_id"]})
            assert stored is not None
            assert stored["status"] == doc["status"].upper() != doc["status"], stored
            old = [e["status"] for e in doc.get("history", [])]
            assert [e["status"] for e in stored.get("history", [])] == [s.upper() for s in old]


def infra_settings(infra: Infra, name: str) -> dict[str, Any]:
    return {
        "service_name": name,
        "mongo_url": infra.mongo_url,
        "kafka_bootstrap": infra.kafka_bootstrap,
    }
