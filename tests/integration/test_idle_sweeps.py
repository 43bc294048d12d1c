"""Sweepers in an idle shop (issue 16, idle cost): orchestra's deadline sweeper reads its sagas
when a deadline is near, not every second, and a saga whose participant stays silent is still
compensated within a second of its deadline; payment_svc's refund loop reads its refunds when
one is due, not twice a second; delivery_svc's and order_svc's loops read their cases, holds,
orders and reports when one is due or a commit may have made one due, and notification_svc's
sender its notifications when one is due, not every second; the warehouse simulator asks
store_svc for its picking cases when one is due, not every 2 s."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from launcher.processes import ServiceProcess
from schemas import topics
from tests.conftest import start_service
from tests.integration.test_orchestra_saga import paid_order
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish

Client = AsyncMongoClient[dict[str, object]]
TIMEOUT = 20.0  # the saga timeout of this module's orchestra: its sweeper sleeps 10 s when idle


@pytest.fixture(scope="module")
async def orchestra(infra: Infra) -> AsyncIterator[ServiceProcess]:
    env = {"SAGASHOP_SAGA_TIMEOUT_SECONDS": str(TIMEOUT)}
    proc = start_service(infra, "orchestra", Path(tempfile.mkdtemp()), env=env)
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def delivery(infra: Infra) -> AsyncIterator[ServiceProcess]:
    proc = start_service(infra, "delivery_svc", Path(tempfile.mkdtemp()))
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def order(infra: Infra) -> AsyncIterator[ServiceProcess]:
    proc = start_service(infra, "order_svc", Path(tempfile.mkdtemp()))
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def notification(infra: Infra) -> AsyncIterator[ServiceProcess]:
    proc = start_service(infra, "notification_svc", Path(tempfile.mkdtemp()))
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def store_and_warehouse(infra: Infra) -> AsyncIterator[ServiceProcess]:
    """store_svc and a warehouse simulator at its default pace (10 s a step)."""
    token = secrets.token_hex(8)
    logs = Path(tempfile.mkdtemp())
    store = start_service(infra, "store_svc", logs, env={"SAGASHOP_WAREHOUSE_TOKEN": token})
    await store.wait_ready()
    env = {"SAGASHOP_STORE_URL": store.url, "SAGASHOP_WAREHOUSE_TOKEN": token}
    warehouse = start_service(infra, "store_svc.warehouse_sim", logs, env=env)
    await warehouse.wait_ready()
    yield store
    warehouse.kill()
    store.kill()


@pytest.fixture(scope="module")
async def payment(infra: Infra) -> AsyncIterator[ServiceProcess]:
    proc = start_service(infra, "payment_svc", Path(tempfile.mkdtemp()))
    await proc.wait_ready()
    yield proc
    proc.kill()


async def reads(client: Client, ns: str) -> int:
    """How many queries the embedded database has answered on `ns` (its `top` command)."""
    totals: Any = (await client.admin.command("top"))["totals"]
    return int(totals.get(ns, {}).get("queries", {}).get("count", 0))


async def reads_over(client: Client, ns: str, seconds: float) -> int:
    before = await reads(client, ns)
    await asyncio.sleep(seconds)
    return await reads(client, ns) - before


async def test_an_idle_orchestra_reads_its_sagas_a_few_times_in_eight_seconds_not_every_second(
    orchestra: ServiceProcess, mongo: Client
) -> None:
    # a round reads each active state's overdue sagas and earliest deadline (4 queries), then
    # sleeps half the saga timeout (10 s) when none is active: at most 2 rounds touch 8 s;
    # the fixed 1 s sweep made 16 reads
    assert await reads_over(mongo, f"{orchestra.name}.sagas", 8.0) <= 8


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


async def test_an_idle_payment_service_reads_its_refunds_a_few_times_in_eight_seconds(
    payment: ServiceProcess, mongo: Client
) -> None:
    # the refund loop was woken by every refund made due, and looked anyway every 0.5 s
    # (~16 reads of each collection in 8 s); now it reads them when one is due, or every 10 s
    db = payment.name
    assert await reads_over(mongo, f"{db}.refunds", 8.0) <= 4
    assert await reads_over(mongo, f"{db}.payments", 8.0) <= 8


async def test_an_idle_delivery_service_reads_its_cases_and_holds_a_few_times_in_eight_seconds(
    delivery: ServiceProcess, mongo: Client
) -> None:
    # its carrier, pickup-point and hold loops looked every second (5 reads of the cases and
    # 1 of the holds a second); a round now also reads the earliest due time, then sleeps
    # until it or the 10 s backstop, or 1 s after a commit of the service
    db = delivery.name
    assert await reads_over(mongo, f"{db}.cases", 8.0) <= 12
    assert await reads_over(mongo, f"{db}.holds", 8.0) <= 4


async def test_an_idle_order_service_reads_its_orders_and_reports_a_few_times_in_eight_seconds(
    order: ServiceProcess, mongo: Client
) -> None:
    # the unpaid sweep looked every second, the hand-over sweep every 5 s and the report
    # writer every second (~10 reads of the orders and 8 of the reports in 8 s)
    db = order.name
    assert await reads_over(mongo, f"{db}.orders", 8.0) <= 4
    assert await reads_over(mongo, f"{db}.reports", 8.0) <= 2


async def test_an_idle_notification_sender_reads_its_notifications_a_few_times_in_eight_seconds(
    notification: ServiceProcess, mongo: Client
) -> None:
    # the sender's poll read them every second (8 reads in 8 s)
    assert await reads_over(mongo, f"{notification.name}.notifications", 8.0) <= 2


async def test_an_idle_warehouse_simulator_asks_for_the_picking_cases_once_a_pace_not_every_2_s(
    store_and_warehouse: ServiceProcess, mongo: Client
) -> None:
    # with no case it asks again a pace (10 s) later: a case opened meanwhile is due no sooner
    assert await reads_over(mongo, f"{store_and_warehouse.name}.picking", 8.0) <= 1
