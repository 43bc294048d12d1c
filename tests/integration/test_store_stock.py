"""store_svc's stock over HTTP and Kafka on the real broker and database: warehouse counts
(feed and admin), pre-reservations that never oversell under concurrency, expiry, and the
saga's CONFIRM / REVERSE delivered more than once."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from launcher.processes import ServiceProcess
from schemas import topics
from tests.conftest import SpawnService
from tests.support.holds import HOLDS_ENV, as_holder
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish, publish_all
from tests.support.services import admin_client, running
from tests.support.store import (
    ask_store,
    feed_product,
    feed_stock,
    logged_in,
    product,
    replies_for,
    saga_request,
    stock_count,
    unique_id,
)


@pytest.fixture(scope="module")
async def store(infra: Infra, auth: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    async with running(infra, "store_svc", SAGASHOP_AUTH_URL=auth.url, **HOLDS_ENV) as proc:
        yield proc


@pytest.fixture(scope="module")
async def admin(auth: ServiceProcess, store: ServiceProcess, mongo: Any) -> AsyncIterator[Client]:
    async with admin_client(auth, store.url, mongo) as client:
        yield client


@pytest.fixture
async def shopper(auth: ServiceProcess, store: ServiceProcess) -> AsyncIterator[Client]:
    client, _ = await logged_in(auth, store.url)
    as_holder(client)
    yield client
    await client.close()


async def stocked(infra: Infra, client: Client, levels: dict[str, int]) -> int:
    """A new product with `levels` units on hand per warehouse (from the warehouse feed)."""
    pid = unique_id()
    for warehouse, on_hand in levels.items():
        await feed_stock(infra.kafka_bootstrap, pid, warehouse, on_hand)
    await stock_count(client, pid, sum(levels.values()))
    return pid


async def lines(admin: Client, pid: int, **kw: Any) -> dict[str, dict[str, int]]:
    status, body = await admin.get(f"/stock/{pid}", **kw)
    assert status == 200, body
    return {
        line["warehouseId"]: {k: line[k] for k in ("onHand", "reserved", "booked", "available")}
        for line in body["lines"]
    }


async def totals(admin: Client, pid: int, **kw: Any) -> dict[str, int]:
    total = {"onHand": 0, "reserved": 0, "booked": 0, "available": 0}
    for line in (await lines(admin, pid, **kw)).values():
        for k in total:
            total[k] += line[k]
    return total


def order(*items: tuple[int, int]) -> dict[str, Any]:
    return {
        "orderId": f"order-{uuid.uuid4()}",
        "items": [{"productId": p, "quantity": q} for p, q in items],
    }


async def test_the_warehouse_feed_sets_stock_and_an_older_count_is_ignored(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = unique_id()
    for version, on_hand in [(2, 7), (1, 3), (2, 5)]:
        await feed_stock(infra.kafka_bootstrap, pid, "msk", on_hand, version)
    await feed_stock(infra.kafka_bootstrap, pid, "spb", 4, 1)  # same key: handled after them
    await stock_count(shopper, pid, 11)
    assert (await lines(admin, pid))["msk"] == {
        "onHand": 7,
        "reserved": 0,
        "booked": 0,
        "available": 7,
    }


async def test_an_admin_sets_on_hand_but_never_below_the_reserved_units(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = unique_id()
    assert (await admin.put(f"/stock/{pid}/msk-1", {"onHand": 5}))[0] == 404  # no such product
    await feed_product(infra.kafka_bootstrap, product(pid, "Кружка"))
    await eventually(lambda: _found(shopper, pid))
    status, line = await admin.put(f"/stock/{pid}/msk-1", {"onHand": 5})
    assert status == 200 and line["available"] == 5, line
    assert (await shopper.put(f"/stock/{pid}/msk-1", {"onHand": 50}))[0] == 403
    assert (await shopper.post("/reservations", order((pid, 3))))[0] == 201

    status, body = await admin.put(f"/stock/{pid}/msk-1", {"onHand": 2})
    assert status == 409 and "3 unit(s) are reserved" in body["errorMessage"]
    status, line = await admin.put(f"/stock/{pid}/msk-1", {"onHand": 3})
    assert (status, line["reserved"], line["available"]) == (200, 3, 0)
    status, line = await admin.put(f"/stock/{pid}/msk-1", {"onHand": 10})
    assert (line["onHand"], line["reserved"], line["available"]) == (10, 3, 7)
    assert (await shopper.get(f"/stocks/{pid}"))[1] == {"count": 7}


async def test_a_warehouse_count_below_the_reserved_units_is_clamped_to_them(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 5})
    assert (await shopper.post("/reservations", order((pid, 4))))[0] == 201
    await feed_stock(infra.kafka_bootstrap, pid, "msk", 1, version=2)
    await eventually(lambda: _line_is(admin, pid, "msk", onHand=4, reserved=4, available=0))


async def _found(client: Client, pid: int) -> bool:
    return (await client.get(f"/products/{pid}"))[0] == 200


async def _line_is(admin: Client, pid: int, warehouse: str, **expected: int) -> bool:
    line = (await lines(admin, pid)).get(warehouse, {})
    return all(line.get(k) == v for k, v in expected.items())


async def test_fifty_concurrent_one_unit_reservations_of_ten_units_reserve_exactly_ten(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 6, "spb": 4})
    orders = [order((pid, 1)) for _ in range(50)]
    answers = await asyncio.gather(*(shopper.post("/reservations", o) for o in orders))
    codes = sorted(status for status, _ in answers)
    assert codes == [201] * 10 + [409] * 40, [a for a in answers if a[0] not in (201, 409)]
    assert all(f"product {pid}" in body["errorMessage"] for s, body in answers if s == 409)
    assert await totals(admin, pid) == {"onHand": 10, "reserved": 10, "booked": 0, "available": 0}
    reserved = 0
    for o, (status, _) in zip(orders, answers, strict=True):
        code, body = await shopper.get(f"/reservations/{o['orderId']}")
        assert code == (200 if status == 201 else 404)
        reserved += sum(i["reservedQuantity"] for i in body.get("items", []))
    assert reserved == 10
    assert (await shopper.get(f"/stocks/{pid}"))[1] == {"count": 0}


async def test_concurrent_reservations_of_mixed_quantities_never_oversell(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 9, "spb": 7, "ekb": 4})
    rnd = random.Random(11)
    orders = [order((pid, rnd.randint(1, 4))) for _ in range(30)]
    answers = await asyncio.gather(*(shopper.post("/reservations", o) for o in orders))
    assert {status for status, _ in answers} <= {201, 409}
    taken = sum(
        o["items"][0]["quantity"] for o, (s, _) in zip(orders, answers, strict=True) if s == 201
    )
    smallest_refused = min(
        (o["items"][0]["quantity"] for o, (s, _) in zip(orders, answers, strict=True) if s == 409),
        default=None,
    )
    total = await totals(admin, pid)
    assert total == {"onHand": 20, "reserved": taken, "booked": 0, "available": 20 - taken}
    # whoever was refused asked for more than was left at the end
    assert smallest_refused is None or smallest_refused > 20 - taken
    for line in (await lines(admin, pid)).values():
        assert line["available"] == line["onHand"] - line["reserved"] >= 0


async def test_one_warehouse_serves_a_position_when_it_can_else_the_most_available_first(
    infra: Infra, shopper: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 3, "spb": 8, "ekb": 5})
    status, body = await shopper.post("/reservations", order((pid, 6)))
    assert status == 201 and body["items"][0]["warehouses"] == [
        {"warehouseId": "spb", "quantity": 6}
    ]
    status, body = await shopper.post("/reservations", order((pid, 7)))
    assert status == 201, body
    assert body["items"][0]["warehouses"] == [
        {"warehouseId": "ekb", "quantity": 5},
        {"warehouseId": "msk", "quantity": 2},
    ]


async def test_a_short_position_refuses_the_whole_reservation_and_names_the_product(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    plenty = await stocked(infra, shopper, {"msk": 10})
    scarce = await stocked(infra, shopper, {"msk": 1, "spb": 1})
    status, body = await shopper.post("/reservations", order((plenty, 2), (scarce, 3)))
    assert status == 409
    assert body == {
        "errorMessage": f"Not enough stock: product {scarce} (requested 3, available 2)"
    }
    assert (await totals(admin, plenty))["reserved"] == 0
    assert (await totals(admin, scarce))["reserved"] == 0


async def test_reserving_again_for_the_same_order_answers_the_same_reservation(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 5})
    same = order((pid, 2))
    first = await shopper.post("/reservations", same)
    again = await shopper.post("/reservations", same)
    assert (first[0], again[0]) == (201, 200) and first[1] == again[1]
    assert first[1]["status"] == "RESERVED" and first[1]["expiresAt"] > first[1]["createdAt"]
    assert (await totals(admin, pid))["reserved"] == 2
    changed = {**same, "items": [{"productId": pid, "quantity": 4}]}
    status, body = await shopper.post("/reservations", changed)
    assert status == 201 and body["items"][0]["reservedQuantity"] == 4
    assert (await totals(admin, pid))["reserved"] == 4


async def test_only_the_owner_sees_or_releases_a_reservation_and_release_gives_units_back(
    infra: Infra, shopper: Client, auth: ServiceProcess, store: ServiceProcess, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 4})
    mine = order((pid, 3))
    assert (await shopper.post("/reservations", mine))[0] == 201
    other, _ = await logged_in(auth, store.url)
    as_holder(other)
    try:
        path = f"/reservations/{mine['orderId']}"
        assert (await other.get(path))[0] == 404
        assert (await other.call("DELETE", path))[0] == 404
        assert (await other.post("/reservations", mine))[0] == 409
        assert (await admin.get(path))[0] == 200
        status, body = await shopper.call("DELETE", path)
        assert (status, body["status"]) == (200, "RELEASED")
        assert (await shopper.call("DELETE", path))[1]["status"] == "RELEASED"
        assert await totals(admin, pid) == {"onHand": 4, "reserved": 0, "booked": 0, "available": 4}
        # a released order may reserve again (e.g. checkout retried)
        assert (await shopper.post("/reservations", mine))[0] == 201
    finally:
        await other.close()


async def test_an_expired_pre_reservation_is_released_and_never_also_booked(
    infra: Infra, spawn: SpawnService, auth: ServiceProcess, admin: Client
) -> None:
    # its own store: every store in the test session answers the saga topic, so a second
    # one must not outlive this test
    quick = spawn(
        "store_svc",
        env={
            "SAGASHOP_AUTH_URL": auth.url,
            **HOLDS_ENV,
            "SAGASHOP_RESERVATION_TTL_SECONDS": "1.5",
            "SAGASHOP_RESERVATION_SWEEP_SECONDS": "0.2",
        },
    )
    await quick.wait_ready()
    client, _ = await logged_in(auth, quick.url)
    as_holder(client)
    try:
        pid = await stocked(infra, client, {"msk": 5})
        held = order((pid, 5))
        assert (await client.post("/reservations", held))[0] == 201
        assert (await client.get(f"/stocks/{pid}"))[1] == {"count": 0}
        await stock_count(client, pid, 5)
        status, body = await client.get(f"/reservations/{held['orderId']}")
        assert (status, body["status"]) == (200, "EXPIRED")

        # CONFIRMs that arrive around the expiry: each order is booked exactly once, whether
        # the sweeper released its units first or not
        race = await stocked(infra, client, {"msk": 8})
        orders = [order((race, 1)) for _ in range(8)]
        for each in orders:
            assert (await client.post("/reservations", each))[0] == 201
        await asyncio.sleep(1.4)
        await asyncio.gather(
            *(
                ask_store(infra.kafka_bootstrap, saga_request(o["orderId"], "CONFIRM", [(race, 1)]))
                for o in orders
            )
        )
        booked = {"onHand": 0, "reserved": 0, "booked": 8, "available": 0}
        await eventually(lambda: _totals_are(admin, race, booked, base=quick.url))
        for each in orders:
            status, body = await client.get(f"/reservations/{each['orderId']}")
            assert (status, body["status"]) == (200, "BOOKED")
    finally:
        await client.close()


async def _totals_are(admin: Client, pid: int, expected: dict[str, int], **kw: Any) -> bool:
    return await totals(admin, pid, **kw) == expected


async def test_confirm_delivered_twice_books_once_and_opens_a_picking_case(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 5, "spb": 5})
    held = order((pid, 7))
    assert (await shopper.post("/reservations", held))[0] == 201
    confirm = saga_request(held["orderId"], "CONFIRM", [(pid, 7)])
    first = await ask_store(infra.kafka_bootstrap, confirm)
    await ask_store(infra.kafka_bootstrap, confirm, message_id=first)  # redelivered
    await ask_store(infra.kafka_bootstrap, confirm)  # the same request, sent again
    replies = await replies_for(infra.kafka_bootstrap, held["orderId"], expect=2)
    assert [(r["requestType"], r["response"]) for r in replies] == [("CONFIRM", "SUCCESS")] * 2
    assert await totals(admin, pid) == {"onHand": 3, "reserved": 0, "booked": 7, "available": 3}
    status, case = await admin.get(f"/picking/{held['orderId']}")
    assert (status, case["status"]) == (200, "CREATED")
    assert case["items"][0]["reservedQuantity"] == 7
    assert [(m["status"], m["by"]) for m in case["history"]] == [("CREATED", "saga")]
    assert (await shopper.get(f"/reservations/{held['orderId']}"))[1]["status"] == "BOOKED"
    assert (await shopper.call("DELETE", f"/reservations/{held['orderId']}"))[0] == 409


async def test_reverse_delivered_twice_unbooks_once_and_cancels_the_picking_case(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 6})
    order_id = f"order-{uuid.uuid4()}"
    await ask_store(infra.kafka_bootstrap, saga_request(order_id, "CONFIRM", [(pid, 4)]))
    assert [
        r["response"] for r in await replies_for(infra.kafka_bootstrap, order_id, 1, linger=0)
    ] == ["SUCCESS"]
    assert await totals(admin, pid) == {"onHand": 2, "reserved": 0, "booked": 4, "available": 2}
    reverse = saga_request(order_id, "REVERSE", [(pid, 4)])
    first = await ask_store(infra.kafka_bootstrap, reverse)
    await ask_store(infra.kafka_bootstrap, reverse, message_id=first)
    await ask_store(infra.kafka_bootstrap, reverse)
    replies = await replies_for(infra.kafka_bootstrap, order_id, expect=3)
    assert [(r["requestType"], r["response"]) for r in replies] == [
        ("CONFIRM", "SUCCESS"),
        ("REVERSE", "SUCCESS"),
        ("REVERSE", "SUCCESS"),
    ]
    assert await totals(admin, pid) == {"onHand": 6, "reserved": 0, "booked": 0, "available": 6}
    assert (await admin.get(f"/picking/{order_id}"))[1]["status"] == "CANCELLED"


async def test_confirm_of_other_positions_than_pre_reserved_books_what_was_paid_for(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 5})
    held = order((pid, 1))
    assert (await shopper.post("/reservations", held))[0] == 201
    await ask_store(infra.kafka_bootstrap, saga_request(held["orderId"], "CONFIRM", [(pid, 3)]))
    assert [
        r["response"] for r in await replies_for(infra.kafka_bootstrap, held["orderId"], 1)
    ] == ["SUCCESS"]
    assert await totals(admin, pid) == {"onHand": 2, "reserved": 0, "booked": 3, "available": 2}
    status, body = await shopper.get(f"/reservations/{held['orderId']}")
    assert (status, body["status"], body["items"][0]["reservedQuantity"]) == (200, "BOOKED", 3)


async def test_reverse_of_a_pre_reservation_releases_its_units(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 3})
    held = order((pid, 3))
    assert (await shopper.post("/reservations", held))[0] == 201
    await ask_store(infra.kafka_bootstrap, saga_request(held["orderId"], "REVERSE", [(pid, 3)]))
    await replies_for(infra.kafka_bootstrap, held["orderId"], 1, linger=0)
    assert await totals(admin, pid) == {"onHand": 3, "reserved": 0, "booked": 0, "available": 3}
    assert (await shopper.get(f"/reservations/{held['orderId']}"))[1]["status"] == "REVERSED"


async def test_reverse_before_confirm_makes_the_confirm_fail(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 3})
    order_id = f"order-{uuid.uuid4()}"
    await ask_store(infra.kafka_bootstrap, saga_request(order_id, "REVERSE", [(pid, 1)]))
    await ask_store(infra.kafka_bootstrap, saga_request(order_id, "CONFIRM", [(pid, 1)]))
    replies = await replies_for(infra.kafka_bootstrap, order_id, expect=2)
    assert [(r["requestType"], r["response"], r.get("reason")) for r in replies] == [
        ("REVERSE", "SUCCESS", None),
        ("CONFIRM", "FAIL", "reversed before confirmed"),
    ]
    assert await totals(admin, pid) == {"onHand": 3, "reserved": 0, "booked": 0, "available": 3}


async def test_confirm_without_stock_fails_with_the_reason_and_answers_the_same_again(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    pid = await stocked(infra, shopper, {"msk": 2})
    order_id = f"order-{uuid.uuid4()}"
    confirm = saga_request(order_id, "CONFIRM", [(pid, 3)])
    await ask_store(infra.kafka_bootstrap, confirm)
    await ask_store(infra.kafka_bootstrap, confirm)
    replies = await replies_for(infra.kafka_bootstrap, order_id, expect=2)
    reason = f"Not enough stock: product {pid} (requested 3, available 2)"
    assert [(r["response"], r["reason"]) for r in replies] == [("FAIL", reason)] * 2
    assert await totals(admin, pid) == {"onHand": 2, "reserved": 0, "booked": 0, "available": 2}


async def test_a_confirm_and_a_reverse_fetched_in_one_batch_book_then_give_back_each_order(
    infra: Infra, shopper: Client, admin: Client
) -> None:
    # the batch's handlers share one transaction and read the reservations it preloaded: the
    # REVERSE must see what the CONFIRM before it just booked, not the pre-reservation
    pid = await stocked(infra, shopper, {"msk": 6})
    held = [order((pid, 2)) for _ in range(2)]
    for each in held:
        assert (await shopper.post("/reservations", each))[0] == 201
    first, second = (h["orderId"] for h in held)
    batch = [
        (first, saga_request(first, "CONFIRM", [(pid, 2)]), str(uuid.uuid4())),
        (second, saga_request(second, "CONFIRM", [(pid, 2)]), str(uuid.uuid4())),
        (first, saga_request(first, "REVERSE", [(pid, 2)]), str(uuid.uuid4())),
    ]
    await publish_all(infra.kafka_bootstrap, topics.STORE_CONFIRMATIONS.name, batch)

    replies = await replies_for(infra.kafka_bootstrap, first, expect=2)
    assert [(r["requestType"], r["response"]) for r in replies] == [
        ("CONFIRM", "SUCCESS"),
        ("REVERSE", "SUCCESS"),
    ]
    assert await totals(admin, pid) == {"onHand": 4, "reserved": 0, "booked": 2, "available": 4}
    assert (await shopper.get(f"/reservations/{first}"))[1]["status"] == "REVERSED"
    assert (await shopper.get(f"/reservations/{second}"))[1]["status"] == "BOOKED"
    assert (await admin.get(f"/picking/{first}"))[1]["status"] == "CANCELLED"


async def test_a_paid_orders_hold_extension_keeps_its_reservation_past_the_original_expiry(
    infra: Infra, spawn: SpawnService, auth: ServiceProcess
) -> None:
    quick = spawn(
        "store_svc",
        env={
            "SAGASHOP_AUTH_URL": auth.url,
            **HOLDS_ENV,
            "SAGASHOP_RESERVATION_TTL_SECONDS": "5",
            "SAGASHOP_RESERVATION_SWEEP_SECONDS": "0.2",
        },
    )
    await quick.wait_ready()
    client, _ = await logged_in(auth, quick.url)
    as_holder(client)
    try:
        pid = await stocked(infra, client, {"msk": 5})
        paid, unpaid = order((pid, 2)), order((pid, 1))
        for each in (paid, unpaid):
            assert (await client.post("/reservations", each))[0] == 201
        until = datetime.now(UTC) + timedelta(seconds=60)
        for each, at in ((paid, until), (paid, until - timedelta(seconds=30))):
            # the second, earlier one must not shorten the first
            body = {"orderId": each["orderId"], "until": at.isoformat()}
            await publish(infra.kafka_bootstrap, topics.HOLD_EXTENSIONS.name, body, each["orderId"])

        async def expired(order_id: str) -> bool:
            status, body = await client.get(f"/reservations/{order_id}")
            return status == 200 and body["status"] == "EXPIRED"

        # the sweeper takes the oldest first: the paid one was due before the unpaid one
        await eventually(lambda: expired(unpaid["orderId"]), timeout=30)
        status, body = await client.get(f"/reservations/{paid['orderId']}")
        assert (status, body["status"]) == (200, "RESERVED")
        assert datetime.fromisoformat(body["expiresAt"]) == at_ms(until)
        assert (await client.get(f"/stocks/{pid}"))[1] == {"count": 3}

        # an extension of a reservation that has expired changes nothing: it is sent with the
        # paid order's key, before a further extension of the paid order, so once that one is
        # seen the late one has been handled
        later = until + timedelta(seconds=10)
        key = paid["orderId"]
        for order_id, at in ((unpaid["orderId"], until), (paid["orderId"], later)):
            body = {"orderId": order_id, "until": at.isoformat()}
            await publish(infra.kafka_bootstrap, topics.HOLD_EXTENSIONS.name, body, key)
        await eventually(lambda: _expires_at(client, paid["orderId"], at_ms(later)))
        assert await expired(unpaid["orderId"])
    finally:
        await client.close()


def at_ms(t: datetime) -> datetime:
    """`t` at the database's precision."""
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


async def _expires_at(client: Client, order_id: str, expected: datetime) -> bool:
    status, body = await client.get(f"/reservations/{order_id}")
    return status == 200 and datetime.fromisoformat(body["expiresAt"]) == expected
