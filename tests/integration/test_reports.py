"""003 daily reports in order_svc, run as its own process on the real broker and database:
orders (put straight into its database, shaped as it writes them) → `POST /reports` → a
`.jsonl` file whose lines are exactly the units sold that day → one *report ready* event on
its topic; a crash while writing still ends with one correct file and one event; only admins
and neighbours with a key may use reports."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from launcher.processes import ServiceProcess
from schemas import topics
from tests.conftest import SpawnService, start_service
from tests.support.gift_card_orders import on_topic
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually
from tests.support.reports import (
    expected_units,
    file_units,
    finished,
    order_doc,
    start_report,
    unique_day,
)
from tests.support.store import logged_in, make_admin

API_KEY = "warehouse-analytics-key-1"
Mongo = AsyncMongoClient[Any]


def report_env(auth: ServiceProcess, report_dir: Path) -> dict[str, str]:
    return {
        "SAGASHOP_AUTH_URL": auth.url,
        "SAGASHOP_REPORT_DIR": str(report_dir),
        "SAGASHOP_REPORT_API_KEYS": f"other-key,{API_KEY}",
        "SAGASHOP_REPORT_BATCH": "4",  # several cursor batches and file writes per report
        "SAGASHOP_REPORT_LEASE_SECONDS": "2",
    }


@pytest.fixture(scope="module")
async def order_svc(infra: Infra, auth: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    env = report_env(auth, Path(tempfile.mkdtemp()) / "reports")
    proc = start_service(infra, "order_svc", Path(tempfile.mkdtemp()), env=env)
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def admin(
    auth: ServiceProcess, order_svc: ServiceProcess, mongo: Mongo
) -> AsyncIterator[Client]:
    client, username = await logged_in(auth, order_svc.url)
    await make_admin(mongo, auth, username)
    yield client
    await client.close()


@pytest.fixture(scope="module")
async def neighbour(order_svc: ServiceProcess) -> AsyncIterator[Client]:
    client = Client(order_svc.url, headers={"X-Api-Key": API_KEY})
    yield client
    await client.close()


def a_days_sales(day: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(orders that count, orders that must not) for `day`."""
    sold = [
        order_doc(day, "anna", [("велосипед_10", 50_000, 5), ("звонок", 900, 1)]),
        order_doc(day, "boris", [("велосипед_10", 50_000, 1)], status="COMPLETED", paid_hour=0),
        order_doc(day, "vera", [("шлем", 3_000, 2)], status="ASSEMBLING", paid_hour=23.99),
        *(order_doc(day, f"u{i}", [("насос", 1_500, i + 1)], paid_hour=i) for i in range(6)),
    ]
    not_sold = [
        order_doc(day, "anna", [("самокат", 9_000, 1)], status="CANCELLED"),
        order_doc(day, "anna", [("самокат", 9_000, 1)], status="IN_PROGRESS"),
        order_doc(day, "anna", [("самокат", 9_000, 1)], status="AWAITING_PAYMENT"),
        order_doc(day, "gena", [("Подарочная карта", 300_000, 1)], "COMPLETED", kind="GIFT_CARD"),
        order_doc(day - timedelta(days=1), "dima", [("самокат", 9_000, 1)], paid_hour=23.9),
        order_doc(day + timedelta(days=1), "dima", [("самокат", 9_000, 1)], paid_hour=0),
    ]
    return sold, not_sold


async def put_orders(mongo: Mongo, service: ServiceProcess, docs: list[dict[str, Any]]) -> None:
    await mongo[service.name].orders.insert_many(docs)


async def the_file(client: Client, report_id: str) -> str:
    status, text = await client.get(f"/reports/{report_id}/file")
    assert status == 200, text
    return str(text)


async def test_a_report_lists_exactly_the_units_sold_that_day_and_is_announced_once(
    infra: Infra, order_svc: ServiceProcess, admin: Client, mongo: Mongo
):
    day = unique_day()
    sold, not_sold = a_days_sales(day)
    await put_orders(mongo, order_svc, sold + not_sold)

    report_id = await start_report(admin, day)
    report = await finished(admin, report_id)

    assert report["status"] == "DONE", report
    expected = expected_units(sold)
    assert file_units(await the_file(admin, report_id)) == expected
    assert report["units"] == sum(expected.values()) == 30
    assert report["orders"] == len(sold)
    assert report["amount"] == sum(d["total"] for d in sold)
    events = await on_topic(infra, topics.REPORT_READY, report_id)
    assert events == [{"reportId": report_id, "result": "success"}]


async def test_a_day_without_sales_gives_an_empty_file_and_a_success(infra: Infra, admin: Client):
    report_id = await start_report(admin, unique_day())
    assert (await finished(admin, report_id))["units"] == 0
    assert await the_file(admin, report_id) == ""
    assert (await on_topic(infra, topics.REPORT_READY, report_id))[0]["result"] == "success"


async def test_a_start_without_a_date_reports_yesterday_in_utc(neighbour: Client):
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    status, body = await neighbour.post("/reports")
    assert status == 202, body
    report = await finished(neighbour, body["reportId"])
    assert report["date"] in (yesterday.isoformat(), (yesterday + timedelta(days=1)).isoformat())


async def test_a_second_start_while_a_report_runs_answers_the_running_one_which_is_taken_over_once_its_writer_is_gone(  # noqa: E501
    infra: Infra, order_svc: ServiceProcess, neighbour: Client, mongo: Mongo
):
    """Another replica started this day's report and died holding it: the start answers that
    report, and once the dead writer's lease runs out this process writes it."""
    day = unique_day()
    sold, not_sold = a_days_sales(day)
    await put_orders(mongo, order_svc, sold + not_sold)
    now = datetime.now(UTC)
    running = {"_id": f"r-{day}", "date": day.isoformat(), "status": "RUNNING",
               "runningFor": day.isoformat(), "requestedBy": "api-key", "attempts": 1,
               "leaseOwner": "a-dead-replica", "leaseUntil": now + timedelta(seconds=4),
               "createdAt": now}  # fmt: skip
    await mongo[order_svc.name].reports.insert_one(running)

    assert await start_report(neighbour, day) == running["_id"]
    assert await start_report(neighbour, day) == running["_id"]

    report = await finished(neighbour, running["_id"])
    assert report["status"] == "DONE"
    assert file_units(await the_file(neighbour, running["_id"])) == expected_units(sold)
    assert len(await on_topic(infra, topics.REPORT_READY, running["_id"])) == 1


@pytest.mark.parametrize("crash_at", ["report.mid_file", "report.after_rename"])
async def test_a_crash_while_writing_still_ends_with_one_correct_file_and_one_event(
    crash_at: str,
    infra: Infra,
    auth: ServiceProcess,
    spawn: SpawnService,
    mongo: Mongo,
    tmp_path: Path,
):
    report_dir = tmp_path / "reports"
    proc = spawn("order_svc", env=report_env(auth, report_dir), SAGASHOP_FAULTS=crash_at)
    await proc.wait_ready()
    day = unique_day()
    sold, not_sold = a_days_sales(day)
    await put_orders(mongo, proc, sold + not_sold)
    neighbour = Client(proc.url, headers={"X-Api-Key": API_KEY})
    try:
        report_id = await start_report(neighbour, day)
        await eventually(lambda: _dead(proc))
        proc.start(SAGASHOP_FAULTS="")
        await proc.wait_ready()

        report = await finished(neighbour, report_id)
        assert report["status"] == "DONE"
        assert file_units(await the_file(neighbour, report_id)) == expected_units(sold)
    finally:
        await neighbour.close()
    assert sorted(p.name for p in report_dir.iterdir()) == [f"{report_id}.jsonl"]
    assert len(await on_topic(infra, topics.REPORT_READY, report_id)) == 1


async def _dead(proc: ServiceProcess) -> bool:
    return not proc.alive()


async def test_only_admins_and_neighbours_with_a_known_key_may_use_reports(
    auth: ServiceProcess, order_svc: ServiceProcess, admin: Client, neighbour: Client
):
    day = unique_day()
    guest = Client(order_svc.url)
    customer, _ = await logged_in(auth, order_svc.url)
    stranger = Client(order_svc.url, headers={"X-Api-Key": API_KEY + "x"})
    try:
        body = {"date": day.isoformat()}
        assert (await guest.post("/reports", body))[0] == 401
        assert (await customer.post("/reports", body))[0] == 403
        status, answer = await stranger.post("/reports", body)
        assert (status, answer) == (401, {"errorMessage": "Invalid API key"})
        report_id = await start_report(neighbour, day)
        await start_report(admin, day)  # the same report, or a new one if it is done
        for who, expected in ((guest, 401), (customer, 403), (stranger, 401)):
            assert (await who.get(f"/reports/{report_id}"))[0] == expected
            assert (await who.get(f"/reports/{report_id}/file"))[0] == expected
        assert (await finished(admin, report_id))["status"] == "DONE"
        assert (await neighbour.get("/reports/no-such-report"))[0] == 404
    finally:
        for client in (guest, customer, stranger):
            await client.close()


@pytest.mark.parametrize(
    "body",
    [
        {"date": "2026-02-30"},
        {"date": "30.01.2026"},
        {"date": 1764000000},
        {"date": (datetime.now(UTC) + timedelta(days=2)).date().isoformat()},
        {"day": "2026-01-30"},
        "not json",
    ],
)
async def test_a_bad_or_future_date_is_refused_with_a_message_and_starts_nothing(
    body: Any, order_svc: ServiceProcess, admin: Client, mongo: Mongo
):
    before = await mongo[order_svc.name].reports.count_documents({})
    if isinstance(body, str):
        json_header = {"Content-Type": "application/json"}
        status, answer = await admin.post("/reports", data=body, headers=json_header)
    else:
        status, answer = await admin.post("/reports", body)
    assert status == 400, answer
    assert answer["errorMessage"]
    assert await mongo[order_svc.name].reports.count_documents({}) == before
