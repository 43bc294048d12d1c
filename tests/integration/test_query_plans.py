"""Queries the services make every second or on every message must be served by an index on
the embedded database, not a full scan.

The sweepers (unpaid orders, overdue sagas, expired holds, due notifications and payment
rechecks) run every second or so for as long as a service lives. Each must read through an
index on the database the services really use: a full scan reads every order, saga or
notification ever made, every second, and the shop gets slower the longer it runs.

The queries are captured as the repositories send them (PyMongo's command monitoring) and
explained on the embedded database; a filter shape the database cannot serve from an index
(such as `state: {$in: [...]}` next to a range) shows as COLLSCAN."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from delivery_svc.repository import Repository as DeliveryRepository
from notification_svc.repository import Notifications
from orchestra.repository import Sagas
from order_svc.repository import Orders
from payment_svc.refund_book import RefundBook
from payment_svc.repository import Payments
from store_svc.holds import Reservations
from tests.support.infra import Infra

Sweep = Callable[[Any, datetime], Awaitable[object]]
SWEEPS: dict[str, tuple[type[Any], Sweep]] = {
    "order_svc unpaid orders": (Orders, lambda r, now: r.unpaid_before(now)),
    "orchestra overdue sagas": (Sagas, lambda r, now: r.overdue(now)),
    "store_svc expired reservations": (Reservations, lambda r, now: r.due(now, 100)),
    "delivery_svc expired holds": (DeliveryRepository, lambda r, now: r.expired_holds(now)),
    "notification_svc due notifications": (Notifications, lambda r, now: r.due(now, 100)),
    "payment_svc due rechecks": (Payments, lambda r, now: r.due_rechecks(now)),
    "payment_svc due refunds": (Payments, lambda r, now: r.due_refunds(now)),
    "payment_svc due admin refunds": (RefundBook, lambda r, now: r.due(now)),
}


class Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.seen.append((event.database_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def stages(plan: dict[str, Any]) -> list[str]:
    found = []
    while plan:
        found.append(plan.get("stage", "?"))
        plan = plan.get("inputStage") or {}
    return found


@pytest.mark.parametrize("name", list(SWEEPS))
async def test_every_sweeper_reads_through_an_index_not_a_full_scan(infra: Infra, name: str):
    repo_type, sweep = SWEEPS[name]
    finds = Finds()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra.mongo_url, tz_aware=True, event_listeners=[finds]
    )
    db = client[f"sweep-{uuid.uuid4().hex[:8]}"]
    try:
        repo = repo_type(db)
        await repo.ensure_indexes()
        finds.seen.clear()
        await sweep(repo, datetime.now(UTC))
        assert finds.seen, f"{name} sent no find"
        for database, command in finds.seen:
            explained = await client[database].command(
                "explain",
                {k: v for k, v in command.items() if k in ("find", "filter", "sort", "limit")},
            )
            plan = stages(explained["queryPlanner"]["winningPlan"])
            assert "COLLSCAN" not in plan, f"{name}: {command['filter']} -> {plan}"
            assert "IXSCAN" in plan, f"{name}: {command['filter']} -> {plan}"
            # a finished document has no due time and sits under null at the start of the
            # index; a range with no lower bound and no equality before it walks them all
            query = command["filter"]
            upper_only = [
                field
                for field, value in query.items()
                if isinstance(value, dict)
                and value.keys() & {"$lt", "$lte"}
                and not value.keys() & {"$gt", "$gte"}
            ]
            pinned = any(not isinstance(value, dict) for value in query.values())
            assert pinned or not upper_only, f"{name}: {query} reads every finished document"
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_a_write_conditioned_on_id_and_version_reads_one_document_and_still_checks_both(
    mongo,
):
    """The conditional write of every repository (`{_id, version}`) is answered from the
    primary key on the embedded database (it was a full scan there: see
    launcher/mongo_server.py), and the whole condition still decides what is written."""
    coll = mongo[f"plans-{uuid.uuid4().hex[:8]}"].orders
    await coll.insert_many([{"_id": f"o{i}", "version": 0} for i in range(50)])
    try:
        for condition in ({"version": 0}, {"dueAt": {"$lte": datetime.now(UTC)}}):
            explained = await coll.database.command(
                "explain", {"find": coll.name, "filter": {"_id": "o7", **condition}}
            )
            plan = explained["queryPlanner"]["winningPlan"]
            assert "COLLSCAN" not in stages(plan), (condition, plan)

        stale = await coll.update_one({"_id": "o7", "version": 1}, {"$inc": {"version": 1}})
        fresh = await coll.update_one({"_id": "o7", "version": 0}, {"$inc": {"version": 1}})
        assert (stale.modified_count, fresh.modified_count) == (0, 1)
        assert await coll.find_one({"_id": "o7", "version": 1}) == {"_id": "o7", "version": 1}
        assert await coll.find_one({"_id": "o7", "version": 0}) is None
        assert await coll.count_documents({"version": 0}) == 49
    finally:
        await coll.database.client.drop_database(coll.database.name)
