"""An order's whole life on the running system (issue 13), driven by the warehouse, carrier and
pickup point simulators at a fast pace: paid and left alone, an order is picked, handed over,
delivered or collected and COMPLETED; a damaged item, a courier who fails every attempt and a
parcel nobody collects each end CANCELLED, refunded exactly once, with the goods written off or
back on hand; a customer cannot cancel an order in progress; an order paid late in its window
keeps its stock past the original expiry and is delivered."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import SIMULATORS_PAUSED, SYSTEM_ENV, System
from tests.support.kafka import eventually
from tests.support.money import NewShopper, bank_totals, make_admin, registered_shoppers
from tests.support.systems import Systems
from trials.shoppers.shopper import ENDED, PAID_OR_LATER, EdgeError, Shopper

HOLD_TTL = 14.0  # the stock pre-reservation and the slot hold, from checkout
# a late payment comes this long before the holds would run out: time enough on a busy machine
# for the payment to reach its order (the order's payment window is HOLD_TTL too)
LATE_PAYMENT_MARGIN = 6.0
WAREHOUSE = {"paceSeconds": 0.5, "damagedShare": 0.0}
CARRIER = {
    "paceSeconds": 0.5,
    "failedAttemptShare": 0.0,
    "maxAttempts": 2,
    "lostShare": 0.0,
}
PICKUP = {"transitSeconds": 0.5, "collectSeconds": 1.0, "unclaimedShare": 0.0}
FULFILMENT_ENV = {
    **{k: v for k, v in SYSTEM_ENV.items() if k not in SIMULATORS_PAUSED},
    "SAGASHOP_WAREHOUSE_PACE_SECONDS": "0.5",
    "SAGASHOP_WAREHOUSE_DAMAGED_SHARE": "0",
    "SAGASHOP_CARRIER_PACE_SECONDS": "0.5",
    "SAGASHOP_CARRIER_FAILED_ATTEMPT_SHARE": "0",
    "SAGASHOP_CARRIER_MAX_ATTEMPTS": "2",
    "SAGASHOP_CARRIER_LOST_SHARE": "0",
    "SAGASHOP_CARRIER_RETRY_SECONDS": "1",
    "SAGASHOP_PICKUP_TRANSIT_SECONDS": "0.5",
    "SAGASHOP_PICKUP_COLLECT_SECONDS": "1",
    "SAGASHOP_PICKUP_UNCLAIMED_SHARE": "0",
    "SAGASHOP_PICKUP_STORAGE_SECONDS": "8",
    "SAGASHOP_PAYMENT_TIMEOUT_SECONDS": str(HOLD_TTL),
    "SAGASHOP_RESERVATION_TTL_SECONDS": str(HOLD_TTL),
    "SAGASHOP_SLOT_HOLD_TTL_SECONDS": str(HOLD_TTL),
    "SAGASHOP_RESERVATION_SWEEP_SECONDS": "1",
}
TOKENS = {
    "warehouse_sim": "SAGASHOP_WAREHOUSE_TOKEN",
    "carrier_sim": "SAGASHOP_CARRIER_TOKEN",
    "pickup_sim": "SAGASHOP_PICKUP_TOKEN",
}
LIFE = 120.0  # how long an order may take from payment to its end on a busy machine
Order = dict[str, Any]


@pytest.fixture(scope="module")
async def system(systems: Systems) -> System:
    return System(await systems.acquire(FULFILMENT_ENV))


@pytest.fixture
async def shoppers(system: System) -> AsyncIterator[NewShopper]:
    async with registered_shoppers(system.urls) as new:
        yield new


@pytest.fixture
async def admin(system: System, shoppers: NewShopper) -> Shopper:
    return await make_admin(system.stack, await shoppers())


async def configure(system: System, simulator: str, config: dict[str, Any]) -> None:
    proc = system.stack.procs[simulator]
    headers = {"Authorization": f"Bearer {proc.env[TOKENS[simulator]]}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.put(f"{proc.url}/config", json=config) as resp,
    ):
        assert resp.status == 200, await resp.text()


@asynccontextmanager
async def simulating(
    system: System, simulator: str, usual: dict[str, Any], **change: Any
) -> AsyncIterator[None]:
    """The simulator behaves as `change` says for the test's orders, then as usual again."""
    await configure(system, simulator, {**usual, **change})
    try:
        yield
    finally:
        await configure(system, simulator, usual)


async def paid_order(
    system: System, s: Shopper, kind: str, units: int = 3, price: int = 10_000
) -> tuple[Order, int]:
    product = await system.add_product(f"Товар {uuid.uuid4().hex[:8]}", price, {"msk-1": units})
    order = await s.checkout(await s.place(product), kind)
    paid = await s.pay(order)
    assert paid["status"] == "SUCCEEDED", paid
    return await s.wait_paid(order["id"]), product


def path_of(order: Order) -> list[str]:
    return [h["status"] for h in order["history"]]


async def stock_line(admin: Shopper, product: int) -> dict[str, int]:
    lines = (await admin.call("store_svc", "GET", f"/stock/{product}"))["lines"]
    [line] = [line for line in lines if line["warehouseId"] == "msk-1"]
    return dict(line)


async def refunded_once(system: System, s: Shopper, order: Order, before: dict[str, int]) -> None:
    """The order's payment is REFUNDED, and the bank gave back exactly its amount (a second
    refund would show as more, a moment later)."""
    payment = await s.payment(order["paymentId"])

    async def given_back() -> bool:
        after = await bank_totals(s, system.stack.bank_admin_headers())
        return after["refunded"] - before["refunded"] == order["total"]

    await eventually(given_back, timeout=30)
    payment = await s.payment(order["paymentId"])
    assert payment["status"] == "REFUNDED", payment
    await asyncio.sleep(2)
    assert await given_back(), "refunded more than once"


async def test_a_pickup_order_paid_and_left_alone_is_picked_delivered_and_collected(
    system: System, shoppers: NewShopper, admin: Shopper
):
    s = await shoppers()
    order, product = await paid_order(system, s, "pickup")
    order = await s.wait_status(order["id"], ENDED, timeout=LIFE)
    assert order["status"] == "COMPLETED", order
    path = path_of(order)
    assert path[:5] == ["NEW", "AWAITING_PAYMENT", "PAID", "IN_PROGRESS", "CONFIRMED"], path
    assert path[5:] == ["ASSEMBLING", "READY_FOR_PICKUP", "COMPLETED"], path
    picking = await admin.call("store_svc", "GET", f"/picking/{order['id']}")
    assert picking["status"] == "HANDED_OVER"
    case = await s.call("delivery_svc", "GET", f"/cases/{order['id']}")
    assert case["status"] == "RECEIVED" and case["handedOverAt"]
    line = await stock_line(admin, product)
    assert (line["onHand"], line["booked"], line["shipped"], line["writtenOff"]) == (2, 0, 1, 0)
    assert (await s.payment(order["paymentId"]))["status"] == "SUCCEEDED"


async def test_a_courier_order_paid_and_left_alone_is_picked_delivered_to_the_door(
    system: System, shoppers: NewShopper, admin: Shopper
):
    s = await shoppers()
    order, product = await paid_order(system, s, "courier")
    order = await s.wait_status(order["id"], ENDED, timeout=LIFE)
    assert order["status"] == "COMPLETED", order
    assert path_of(order)[4:] == ["CONFIRMED", "ASSEMBLING", "DELIVERING", "COMPLETED"]
    case = await s.call("delivery_svc", "GET", f"/cases/{order['id']}")
    assert case["status"] == "RECEIVED"
    moved = [h["status"] for h in case["history"]]
    assert moved[0] == "OPENED" and "OUT_FOR_DELIVERY" in moved, moved
    line = await stock_line(admin, product)
    assert (line["onHand"], line["booked"], line["shipped"]) == (2, 0, 1)


@dataclass(frozen=True)
class BadEnding:
    """A simulator set to end every order of the test badly, and what the end leaves: the
    case that records it (read by the admin or by the customer), the msk-1 stock line."""

    simulator: str
    usual: dict[str, Any]
    change: dict[str, Any]
    kind: str
    passed: str | None  # an order status on the way to the end
    case: tuple[str, str, str]  # edge, path, status
    by_admin: bool
    line: tuple[int, int, int, int]  # onHand, booked, shipped, writtenOff
    failed_attempts: bool = False


BAD_ENDINGS = {
    "damaged_while_picking_written_off": BadEnding(
        "warehouse_sim",
        WAREHOUSE,
        {"damagedShare": 1.0},
        "pickup",
        None,
        ("store_svc", "/picking/{}", "DAMAGED"),
        True,
        (2, 0, 0, 1),
    ),
    "every_courier_attempt_failed_restocked": BadEnding(
        "carrier_sim",
        CARRIER,
        {"failedAttemptShare": 1.0},
        "courier",
        "DELIVERING",
        ("delivery_svc", "/cases/{}", "RETURNED"),
        False,
        (3, 0, 0, 0),
        failed_attempts=True,
    ),
    "parcel_never_collected_restocked": BadEnding(
        "pickup_sim",
        PICKUP,
        {"unclaimedShare": 1.0},
        "pickup",
        "READY_FOR_PICKUP",
        ("delivery_svc", "/cases/{}", "RETURNED"),
        False,
        (3, 0, 0, 0),
    ),
}


@pytest.mark.parametrize("ending", BAD_ENDINGS.values(), ids=BAD_ENDINGS.keys())
async def test_a_bad_ending_cancels_the_order_refunds_it_once_and_settles_the_goods(
    system: System, shoppers: NewShopper, admin: Shopper, ending: BadEnding
):
    s = await shoppers()
    before = await bank_totals(s, system.stack.bank_admin_headers())
    async with simulating(system, ending.simulator, ending.usual, **ending.change):
        order, product = await paid_order(system, s, ending.kind)
        order = await s.wait_status(order["id"], ENDED, timeout=LIFE)
    assert order["status"] == "CANCELLED" and order["reason"], order
    assert ending.passed is None or ending.passed in path_of(order), path_of(order)
    await refunded_once(system, s, order, before)
    edge, path, status = ending.case
    case = await (admin if ending.by_admin else s).call(edge, "GET", path.format(order["id"]))
    assert case["status"] == status, case
    assert not ending.failed_attempts or case["failedAttempts"] >= 1, case

    async def settled() -> bool:
        line = await stock_line(admin, product)
        return (line["onHand"], line["booked"], line["shipped"], line["writtenOff"]) == ending.line

    await eventually(settled, timeout=30)
    assert await s.call("store_svc", "GET", f"/stocks/{product}") == {"count": ending.line[0]}


@asynccontextmanager
async def orchestra_stopped(system: System) -> AsyncIterator[None]:
    """No saga runs (a slow or restarting orchestra): orders handed over wait IN_PROGRESS."""
    orchestra = system.stack.procs["orchestra"]
    system.stack.expected_down.add("orchestra")
    orchestra.kill()
    try:
        yield
    finally:
        orchestra.start()
        system.stack.expected_down.discard("orchestra")
        await orchestra.wait_ready(60)


async def test_a_customer_cannot_cancel_an_order_in_progress_and_it_completes(
    system: System, shoppers: NewShopper
):
    s = await shoppers()
    async with orchestra_stopped(system):
        order, _ = await paid_order(system, s, "pickup")
        order = await s.wait_status(order["id"], {"IN_PROGRESS"}, timeout=30)
        with pytest.raises(EdgeError) as refused:
            await s.cancel(order)
        assert refused.value.status == 409
        assert "IN_PROGRESS" in refused.value.body["errorMessage"]
        assert (await s.order(order["id"]))["status"] == "IN_PROGRESS"
    order = await s.wait_status(order["id"], ENDED, timeout=LIFE)
    assert order["status"] == "COMPLETED", order
    assert "CANCELLED" not in path_of(order)
    assert (await s.payment(order["paymentId"]))["status"] == "SUCCEEDED"


async def test_an_order_paid_late_in_its_window_keeps_its_stock_and_slot_and_is_delivered(
    system: System, shoppers: NewShopper
):
    s, other = await shoppers(), await shoppers()
    last = await system.add_product(f"Последний {uuid.uuid4().hex[:8]}", 9_000, {"msk-1": 1})
    async with orchestra_stopped(system):
        checked_out = time.monotonic()
        order = await s.checkout(await s.place(last), "courier")
        await asyncio.sleep(HOLD_TTL - LATE_PAYMENT_MARGIN - (time.monotonic() - checked_out))
        assert (await s.pay(order))["status"] == "SUCCEEDED"
        order = await s.wait_status(order["id"], PAID_OR_LATER, timeout=30)
        # past the holds' original expiry (and a sweep or two), the saga still not started
        await asyncio.sleep(HOLD_TTL + 4 - (time.monotonic() - checked_out))
        assert await s.call("store_svc", "GET", f"/stocks/{last}") == {"count": 0}
        slot = await s.call("delivery_svc", "GET", f"/slots/{order['id']}")
        assert slot["status"] == "HELD", slot
        theirs = await other.checkout(await other.place(last), "courier")
        assert theirs["status"] == "FAILED", theirs
    order = await s.wait_status(order["id"], ENDED, timeout=LIFE)
    assert order["status"] == "COMPLETED", order
    assert (await s.payment(order["paymentId"]))["status"] == "SUCCEEDED"
