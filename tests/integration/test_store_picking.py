"""store_svc's picking cases on the real broker and database: the warehouse's moves (by its
token or an admin) with the order's status feed and the parcel to delivery sent exactly once,
damaged items written off by the REVERSE that follows, refused moves, the stock conserved after
every step, and the warehouse simulator driving cases by itself."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from launcher.processes import ServiceProcess
from schemas import topics
from schemas.catalog_http import PickingStatus
from tests.conftest import SpawnService
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually
from tests.support.services import admin_client, running
from tests.support.store import (
    ask_store,
    feed_stock,
    logged_in,
    replies_for,
    saga_request,
    stock_count,
    unique_id,
)

TOKEN = secrets.token_hex(16)
FIELDS = ("onHand", "reserved", "booked", "shipped", "writtenOff", "available")


@pytest.fixture(scope="module")
async def store(infra: Infra, auth: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    env = {"SAGASHOP_AUTH_URL": auth.url, "SAGASHOP_WAREHOUSE_TOKEN": TOKEN}
    async with running(infra, "store_svc", **env) as proc:
        yield proc


@pytest.fixture(scope="module")
async def admin(auth: ServiceProcess, store: ServiceProcess, mongo: Any) -> AsyncIterator[Client]:
    async with admin_client(auth, store.url, mongo) as client:
        yield client


@pytest.fixture(scope="module")
async def warehouse(store: ServiceProcess) -> AsyncIterator[Client]:
    """The warehouse staff's client: its service credential, no session."""
    client = Client(store.url, headers={"Authorization": f"Bearer {TOKEN}"})
    yield client
    await client.close()


async def stocked(infra: Infra, client: Client, levels: dict[str, int]) -> int:
    pid = unique_id()
    for warehouse_id, on_hand in levels.items():
        await feed_stock(infra.kafka_bootstrap, pid, warehouse_id, on_hand)
    await stock_count(client, pid, sum(levels.values()))
    return pid


async def confirmed(infra: Infra, items: list[tuple[int, int]]) -> str:
    """A new order the saga has confirmed at the store (its picking case is open)."""
    order_id = f"order-{uuid.uuid4()}"
    await ask_store(infra.kafka_bootstrap, saga_request(order_id, "CONFIRM", items))
    replies = await replies_for(infra.kafka_bootstrap, order_id, 1, linger=0)
    assert [r["response"] for r in replies] == ["SUCCESS"], replies
    return order_id


async def reversed_(
    infra: Infra, order_id: str, items: list[tuple[int, int]], disposition: str | None, times: int
) -> None:
    """REVERSE the order `times` times (with `disposition`) and wait for every reply."""
    body = saga_request(order_id, "REVERSE", items)
    if disposition:
        body["disposition"] = disposition
    for _ in range(times):
        await ask_store(infra.kafka_bootstrap, body)
    replies = await replies_for(infra.kafka_bootstrap, order_id, 1 + times)
    assert [(r["requestType"], r["response"]) for r in replies[1:]] == [
        ("REVERSE", "SUCCESS")
    ] * times


async def stock(admin: Client, pid: int) -> dict[str, dict[str, int]]:
    """The product's lines, each checked against the conservation equation."""
    status, body = await admin.get(f"/stock/{pid}")
    assert status == 200, body
    lines = {}
    for line in body["lines"]:
        held = line["onHand"] + line["booked"] + line["shipped"] + line["writtenOff"]
        assert held == line["received"], line
        lines[line["warehouseId"]] = {k: line[k] for k in FIELDS}
    return lines


def line(on_hand: int, booked: int = 0, shipped: int = 0, written_off: int = 0) -> dict[str, int]:
    return {
        "onHand": on_hand,
        "reserved": 0,
        "booked": booked,
        "shipped": shipped,
        "writtenOff": written_off,
        "available": on_hand,
    }


async def move(client: Client, order_id: str, status: str, **more: Any) -> tuple[int, Any]:
    return await client.put(f"/picking/{order_id}/status", {"status": status, **more})


async def messages(
    infra: Infra, topic: topics.Topic, order_id: str, expect: int, linger: float = 1.5
) -> list[dict[str, Any]]:
    """The bodies keyed `order_id` on `topic`, once `expect` have come, plus any that come
    within `linger` seconds after (so a duplicate would be seen)."""
    consumer = AIOKafkaConsumer(
        topic.name,
        bootstrap_servers=infra.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found += [json.loads(r.value) for r in records if r.key == order_id.encode()]
            if len(found) >= expect:
                deadline = min(deadline, time.monotonic() + linger)
        return found
    finally:
        await consumer.stop()


async def test_a_case_walks_to_handed_over_telling_the_order_and_delivery_exactly_once(
    infra: Infra, admin: Client, warehouse: Client
) -> None:
    pid = await stocked(infra, admin, {"msk": 5, "spb": 2})
    order_id = await confirmed(infra, [(pid, 6)])
    status, case = await warehouse.get(f"/picking/{order_id}")
    assert (status, case["status"], case["warehouseId"]) == (200, "CREATED", "msk")
    assert await stock(admin, pid) == {"msk": line(0, booked=5), "spb": line(1, booked=1)}

    for who, step in [(warehouse, "PICKING"), (warehouse, "PICKING"), (admin, "PICKED")]:
        status, case = await move(who, order_id, step)
        assert (status, case["status"]) == (200, step), case
        assert await stock(admin, pid) == {"msk": line(0, booked=5), "spb": line(1, booked=1)}
    status, case = await move(warehouse, order_id, "HANDED_OVER")
    assert (status, case["status"]) == (200, "HANDED_OVER"), case
    assert await stock(admin, pid) == {"msk": line(0, shipped=5), "spb": line(1, shipped=1)}
    assert [(m["status"], m["by"]) for m in case["history"]] == [
        ("CREATED", "saga"),
        ("PICKING", "warehouse"),
        ("PICKED", case["history"][2]["by"]),
        ("HANDED_OVER", "warehouse"),
    ]
    assert case["history"][2]["by"].startswith("shopper_")  # the admin who moved it

    feed = await messages(infra, topics.ORDER_STATUS_FEED, order_id, 1)
    assert [(m["status"], m["source"]) for m in feed] == [("ASSEMBLING", "store")]
    parcels = await messages(infra, topics.PARCELS, order_id, 1)
    assert len(parcels) == 1 and parcels[0]["warehouseId"] == "msk"
    assert sorted((i["warehouseId"], i["quantity"]) for i in parcels[0]["items"]) == [
        ("msk", 5),
        ("spb", 1),
    ]


async def test_a_damaged_item_cancels_the_order_and_the_reverse_writes_off_only_those_units(
    infra: Infra, admin: Client, warehouse: Client
) -> None:
    cup, plate = (await stocked(infra, admin, {"msk": 4}), await stocked(infra, admin, {"msk": 3}))
    order_id = await confirmed(infra, [(cup, 3), (plate, 2)])
    assert (await move(warehouse, order_id, "PICKING"))[0] == 200
    status, case = await move(
        warehouse, order_id, "DAMAGED", productId=cup, quantity=1, reason="cracked"
    )
    assert (status, case["status"]) == (200, "DAMAGED"), case
    assert case["damaged"] == {
        "productId": cup,
        "productName": f"product {cup}",
        "quantity": 1,
        "warehouses": [{"warehouseId": "msk", "quantity": 1}],
    }
    last = case["history"][-1]
    assert (last["status"], last["productId"], last["quantity"], last["reason"]) == (
        "DAMAGED",
        cup,
        1,
        "cracked",
    )
    feed = await messages(infra, topics.ORDER_STATUS_FEED, order_id, 2)
    assert [(m["status"], m.get("reason"), m.get("disposition")) for m in feed] == [
        ("ASSEMBLING", None, None),
        ("CANCELLED", f"item damaged: product {cup}", "WRITE_OFF"),
    ]
    assert await stock(admin, cup) == {"msk": line(1, booked=3)}

    # order_svc asks orchestra to compensate; its REVERSE (delivered twice) reaches the store
    await reversed_(infra, order_id, [(cup, 3), (plate, 2)], "WRITE_OFF", times=2)
    assert await stock(admin, cup) == {"msk": line(3, written_off=1)}
    assert await stock(admin, plate) == {"msk": line(3)}
    status, case = await admin.get(f"/picking/{order_id}")
    assert case["status"] == "DAMAGED" and case["history"][-1]["by"] == "saga"
    assert len(case["history"]) == 4  # created, picking, damaged, the reverse: once


async def test_a_move_the_case_does_not_allow_is_409_and_changes_nothing(
    infra: Infra, admin: Client, warehouse: Client
) -> None:
    pid = await stocked(infra, admin, {"msk": 4})
    order_id = await confirmed(infra, [(pid, 2)])
    before = await stock(admin, pid)
    for step in ("PICKED", "HANDED_OVER", "DAMAGED"):
        status, body = await move(warehouse, order_id, step, productId=pid)
        assert status == 409 and "is CREATED" in body["errorMessage"], (step, body)
    assert (await move(warehouse, order_id, "CANCELLED"))[0] == 400
    assert (await move(warehouse, f"order-{uuid.uuid4()}", "PICKING"))[0] == 404
    assert (await move(warehouse, order_id, "PICKING"))[0] == 200
    assert (await move(warehouse, order_id, "DAMAGED"))[0] == 400  # which product?
    assert (await move(warehouse, order_id, "DAMAGED", productId=pid, quantity=3))[0] == 400
    assert (await move(warehouse, order_id, "DAMAGED", productId=pid + 1))[0] == 400
    status, case = await warehouse.get(f"/picking/{order_id}")
    assert [m["status"] for m in case["history"]] == ["CREATED", "PICKING"]
    assert await stock(admin, pid) == before

    await reversed_(infra, order_id, [(pid, 2)], None, times=1)
    assert await stock(admin, pid) == {"msk": line(4)}
    status, body = await move(warehouse, order_id, "PICKED")
    assert status == 409 and "is CANCELLED" in body["errorMessage"]
    assert (await warehouse.get(f"/picking/{order_id}"))[1]["status"] == "CANCELLED"


async def test_reverse_returns_a_handed_over_parcel_to_stock_or_writes_off_a_lost_one(
    infra: Infra, admin: Client, warehouse: Client
) -> None:
    pid = await stocked(infra, admin, {"msk": 9})
    returned, lost, kept = [await confirmed(infra, [(pid, 3)]) for _ in range(3)]
    for order_id in (returned, lost):
        for step in ("PICKING", "PICKED", "HANDED_OVER"):
            assert (await move(warehouse, order_id, step))[0] == 200
    assert await stock(admin, pid) == {"msk": line(0, booked=3, shipped=6)}
    await reversed_(infra, returned, [(pid, 3)], "RESTOCK", times=2)
    assert await stock(admin, pid) == {"msk": line(3, booked=3, shipped=3)}
    await reversed_(infra, lost, [(pid, 3)], "WRITE_OFF", times=1)
    assert await stock(admin, pid) == {"msk": line(3, booked=3, written_off=3)}
    # a case still in the warehouse with WRITE_OFF: its booked units leave the stock
    await reversed_(infra, kept, [(pid, 3)], "WRITE_OFF", times=1)
    assert await stock(admin, pid) == {"msk": line(3, written_off=6)}
    # the warehouse's work on the parcels was done: their cases keep saying so, with the REVERSE
    for order_id, status in ((returned, "HANDED_OVER"), (lost, "HANDED_OVER"), (kept, "CANCELLED")):
        case = (await admin.get(f"/picking/{order_id}"))[1]
        assert case["status"] == status
        assert [m["by"] for m in case["history"]].count("saga") == 2  # opened, undone once


async def test_picking_needs_the_warehouse_token_or_an_admin_and_lists_oldest_first(
    infra: Infra, auth: ServiceProcess, store: ServiceProcess, admin: Client, warehouse: Client
) -> None:
    pid = await stocked(infra, admin, {"ekb-1": 2, "kzn-1": 2})
    first = await confirmed(infra, [(pid, 1)])
    second = await confirmed(infra, [(pid, 1)])
    shopper, _ = await logged_in(auth, store.url)
    nobody = Client(store.url)
    forger = Client(store.url, headers={"Authorization": "Bearer not-the-token"})
    try:
        path = f"/picking/{first}"
        assert (await nobody.get(path))[0] == 401
        assert (await shopper.get(path))[0] == 403
        assert (await forger.get(path))[0] == 401
        assert (await forger.get("/picking"))[0] == 401
        assert (await move(forger, first, "PICKING"))[0] == 401
        assert (await move(shopper, first, "PICKING"))[0] == 403
        cookie = {"sessionId": admin.cookie("sessionId") or ""}
        assert (await forger.get(path, cookies=cookie))[0] == 401  # a wrong token is wrong
        assert (await warehouse.get(f"/picking/{first}"))[1]["status"] == "CREATED"

        status, body = await warehouse.get("/picking?status=created,picking")
        assert status == 200
        ids = [c["orderId"] for c in body["cases"]]
        assert ids.index(first) < ids.index(second)
        # a tie goes to the first warehouse by id, then the other has more
        for warehouse_id, order_id in (("ekb-1", first), ("kzn-1", second)):
            status, body = await admin.get(f"/picking?status=created&warehouse={warehouse_id}")
            assert [c["orderId"] for c in body["cases"]] == [order_id], warehouse_id
        assert (await admin.get("/picking?status=lost"))[0] == 400
        assert (await admin.get("/picking?limit=0"))[0] == 400
    finally:
        for client in (shopper, nobody, forger):
            await client.close()


async def test_the_warehouse_simulator_drives_cases_to_handed_over_or_damaged_by_itself(
    infra: Infra, spawn: SpawnService, store: ServiceProcess, admin: Client
) -> None:
    pid = await stocked(infra, admin, {"msk": 6})
    sim = spawn(
        "store_svc.warehouse_sim",
        env={
            "SAGASHOP_STORE_URL": store.url,
            "SAGASHOP_WAREHOUSE_TOKEN": TOKEN,
            "SAGASHOP_WAREHOUSE_PACE_SECONDS": "0.3",
            "SAGASHOP_WAREHOUSE_DAMAGED_SHARE": "0",
        },
    )
    await sim.wait_ready()
    control = Client(sim.url, headers={"Authorization": f"Bearer {TOKEN}"})
    stranger = Client(sim.url)
    try:
        order_id = await confirmed(infra, [(pid, 2)])
        case = await eventually(lambda: _case_in(admin, order_id, PickingStatus.HANDED_OVER), 60)
        assert [(m["status"], m["by"]) for m in case["history"]] == [
            ("CREATED", "saga"),
            ("PICKING", "warehouse"),
            ("PICKED", "warehouse"),
            ("HANDED_OVER", "warehouse"),
        ]
        assert len(await messages(infra, topics.PARCELS, order_id, 1)) == 1

        assert (await stranger.put("/config", {"damagedShare": 1}))[0] == 401
        assert (await control.put("/config", {"damagedShare": 2}))[0] == 400
        status, config = await control.put("/config", {"damagedShare": 1})
        assert (status, config) == (200, {"paceSeconds": 0.3, "damagedShare": 1.0})
        damaged = await confirmed(infra, [(pid, 2)])
        case = await eventually(lambda: _case_in(admin, damaged, PickingStatus.DAMAGED), 60)
        assert case["damaged"]["productId"] == pid
        feed = await messages(infra, topics.ORDER_STATUS_FEED, damaged, 2)
        assert [m["status"] for m in feed] == ["ASSEMBLING", "CANCELLED"]
        assert (await stranger.get("/config"))[1]["damagedShare"] == 1.0
    finally:
        await control.close()
        await stranger.close()


async def _case_in(admin: Client, order_id: str, status: PickingStatus) -> dict[str, Any] | None:
    code, case = await admin.get(f"/picking/{order_id}")
    return case if code == 200 and case["status"] == status else None
