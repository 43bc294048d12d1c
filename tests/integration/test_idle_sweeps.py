"""Sweepers in an idle shop (issue 16, idle cost): a service's loops read what they sweep when
an item is due, or a commit of the service may have made one due, or every 10 s, not every
second; a saga whose participant stays silent is still compensated within a second of its
deadline; the warehouse simulator asks store_svc for its picking cases when one is due, not
every 2 s. The reads are counted by the embedded database (its `top` command).

The module runs on a broker and database of its own: a service started on the session's would
first apply every message earlier modules left on its topics (a new consumer group reads from
the earliest offset), and its loops would then have work (cases to book at carriers that are
not running, tried again every second): not an idle service."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from launcher.processes import ServiceProcess
from schemas import topics
from tests.integration.test_orchestra_saga import paid_order
from tests.support.infra import Infra, provide_infra
from tests.support.kafka import eventually, publish
from tests.support.services import running

Client = AsyncMongoClient[dict[str, object]]
TIMEOUT = 20.0  # the saga timeout of this module's orchestra: its sweeper sleeps 10 s when idle
WINDOW = 8.0

# per service, the collections its loops sweep: at most this many reads in WINDOW now (a
# round reads the due items and the earliest due time, then sleeps until it or 10 s), and
# what the old fixed polls made (in a comment)
IDLE = {
    "orchestra": {"sagas": 8},  # 16: overdue sagas of 2 states every second
    "payment_svc": {"refunds": 4, "payments": 8},  # 16 and 20: refunds every 0.5 s
    "delivery_svc": {"cases": 12, "holds": 4},  # 40 and 8: 5 reads a second, holds 1
    "order_svc": {"orders": 4, "reports": 2},  # 10 and 8: unpaid 1 s, hand-over 5 s, reports
    "notification_svc": {"notifications": 2},  # 8: the sender's poll every second
}


async def reads(client: Client, ns: str) -> int:
    """How many queries the embedded database has answered on `ns`."""
    totals: Any = (await client.admin.command("top"))["totals"]
    return int(totals.get(ns, {}).get("queries", {}).get("count", 0))


async def reads_over(client: Client, namespaces: list[str], seconds: float) -> dict[str, int]:
    before = {ns: await reads(client, ns) for ns in namespaces}
    await asyncio.sleep(seconds)
    return {ns: await reads(client, ns) - before[ns] for ns in namespaces}


@pytest.fixture(scope="module")
async def infra() -> AsyncIterator[Infra]:
    async with provide_infra() as provided:
        yield provided


@pytest.fixture(scope="module")
async def mongo(infra: Infra) -> AsyncIterator[Client]:
    client: Client = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture(scope="module")
async def orchestra(infra: Infra) -> AsyncIterator[ServiceProcess]:
    async with running(infra, "orchestra", SAGASHOP_SAGA_TIMEOUT_SECONDS=str(TIMEOUT)) as proc:
        yield proc


@pytest.mark.parametrize("module", IDLE)
async def test_an_idle_service_reads_what_its_loops_sweep_a_few_times_in_eight_seconds(
    infra: Infra, orchestra: ServiceProcess, mongo: Client, module: str
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        proc = orchestra
        if module != "orchestra":
            proc = await stack.enter_async_context(running(infra, module))
        namespaces = [f"{proc.name}.{collection}" for collection in IDLE[module]]
        counted = await reads_over(mongo, namespaces, WINDOW)
    at_most = {f"{proc.name}.{c}": n for c, n in IDLE[module].items()}
    assert all(counted[ns] <= at_most[ns] for ns in namespaces), (counted, at_most)


async def test_a_silent_participant_is_compensated_within_a_second_of_the_deadline(
    infra: Infra, orchestra: ServiceProcess, mongo: Client
) -> None:
    request = paid_order()
    order_id = request["orderId"]
    # the sweeper sleeps since its last round (nothing active): it reads the new saga's
    # deadline (TIMEOUT away) at its next round, TIMEOUT / 2 at most, and sleeps until then
    await publish(infra.kafka_bootstrap, topics.ORDER_CONFIRMATION_REQUESTS.name, request, order_id)
    sagas = mongo[orchestra.name].sagas

    async def compensating() -> dict[str, Any] | None:
        doc = await sagas.find_one({"_id": order_id})
        return doc if doc and doc["state"] == "COMPENSATING" else None

    started = time.monotonic()
    doc = await eventually(compensating, timeout=TIMEOUT + 10)
    assert time.monotonic() - started >= TIMEOUT - 1.0  # not before its deadline
    history = doc["history"]
    created, compensated = history[0]["at"], history[-1]["at"]
    assert history[-1]["event"] == "compensating" and "no answer in time" in doc["reason"]
    late = (compensated - created).total_seconds() - TIMEOUT
    assert 0 <= late <= 1.2, late


async def test_an_idle_warehouse_simulator_asks_for_the_picking_cases_once_a_pace_not_every_2_s(
    infra: Infra, mongo: Client
) -> None:
    # at its default pace (10 s a step) with no case it asks again 10 s later: a case opened
    # meanwhile is due no sooner; it asked every 2 s (4 reads in 8 s)
    token = secrets.token_hex(8)
    async with running(infra, "store_svc", SAGASHOP_WAREHOUSE_TOKEN=token) as store:
        env = {"SAGASHOP_STORE_URL": store.url, "SAGASHOP_WAREHOUSE_TOKEN": token}
        async with running(infra, "store_svc.warehouse_sim", **env):
            picking = f"{store.name}.picking"
            assert (await reads_over(mongo, [picking], WINDOW))[picking] <= 1
