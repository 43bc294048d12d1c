"""The two closed-loop scenarios of `sagashop bench`, driven over the HTTP edges:

- `saga`: paid orders are prepared first (not timed); then N customers each hand one over
  (`PUT /process`) and wait for its final status, again and again; the latency runs from the
  process call to seeing the final status. A share of the orders is made to fail honestly:
  their product (one unit, nobody else's) has its pre-reservation released and its stock
  counted down to zero by an admin before the hand-over, so the store's CONFIRM finds nothing
  to book, answers FAIL, and the saga compensates (the payment is refunded).
- `checkout`: N customers each go the whole way, again and again: place, adjust, checkout,
  pay, process, final status. A share fails: a declined card first (then the good one), or a
  product that is not there in the asked quantity (the order FAILS at checkout).

An error is any answer a step did not expect, a timeout, or an order whose final status is not
the one its scenario meant it to have."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trials.bench.world import WAREHOUSES, Unexpected, World, limited, recover
from trials.shoppers.shopper import DECLINED_CARD, FINAL, Shopper

MAX_SAMPLES = 20
PREPARE_AT_ONCE = 16


@dataclass
class Tally:
    """One level's load: latency and final status of each completed order, and errors."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    begun: int = 0
    started: float = 0.0
    ended: float = 0.0
    prepared: int = 0
    pool_ran_out: bool = False
    reads: int = 0  # the customers' GET of an order while waiting for it to change

    def done(self, latency: float, order: dict[str, Any], expect: str) -> None:
        self.latencies.append(latency)
        self.statuses[order["status"]] += 1
        if order["status"] != expect:
            self.error(
                f"order {order['id']} ended {order['status']} ({order.get('reason')}), "
                f"expected {expect}"
            )

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(what[:400])


def failing(i: int, share: float) -> int:
    """The n-th failing order (1, 2, ...) when order `i` is one of the `share`, else 0: the
    failures are spread evenly, so even a short run has its share."""
    n = int((i + 1) * share)
    return n if n > int(i * share) else 0


def expect_status(order: dict[str, Any], status: str, step: str) -> None:
    if order["status"] != status:
        raise Unexpected(f"{step}: order {order['id']} is {order['status']}, not {status}")


# -- saga ----------------------------------------------------------------------------------
@dataclass
class Paid:
    shopper: Shopper
    order: dict[str, Any]
    expect: str


async def paid_order(world: World, shopper: Shopper, fail: bool) -> Paid:
    product = world.spare.pop() if fail else world.product()
    order = await shopper.place(product)
    order = await shopper.checkout(order, delivery=world.rng.choice(world.pickups))
    expect_status(order, "AWAITING_PAYMENT", "checkout")
    world.watch.arm(order["id"])
    payment = await shopper.pay(order)
    if payment["status"] != "SUCCEEDED":
        raise Unexpected(f"pay: {payment}")
    order = await world.watch.until(shopper, order["id"], {"PAID"}, world.order_timeout)
    if fail:  # nothing left for the store to book when the saga asks
        await shopper.call("store_svc", "DELETE", f"/reservations/{order['id']}")
        await world.set_line(product, WAREHOUSES[0], 0)
    return Paid(shopper, order, "CANCELLED" if fail else "CONFIRMED")


async def prepare_paid(
    world: World, count: int, share: float, tally: Tally, tick: Callable[[int], None]
) -> deque[Paid]:
    fails = {i for i in range(count) if failing(i, share)}
    await world.ensure_spares(len(fails))
    pool: deque[Paid] = deque()
    todo = iter(range(count))
    workers = max(1, min(PREPARE_AT_ONCE, count, len(world.shoppers)))

    async def worker(w: int) -> None:
        mine = world.shoppers[w::workers]  # a customer has one cart at a time
        for k, i in enumerate(todo):
            shopper = mine[k % len(mine)]
            try:
                pool.append(await paid_order(world, shopper, i in fails))
            except Exception as exc:
                tally.error(f"prepare: {exc!r}")
                await recover(shopper)
            tick(len(pool))

    await asyncio.gather(*(worker(w) for w in range(workers)))
    tally.prepared = len(pool)
    return pool


async def saga_window(
    world: World, pool: deque[Paid], level: int, stop_at: float, limit: int | None, tally: Tally
) -> None:
    async def worker() -> None:
        while pool and time.monotonic() < stop_at and (limit is None or tally.begun < limit):
            paid = pool.popleft()
            tally.begun += 1
            order_id = paid.order["id"]
            started = time.perf_counter()
            try:
                world.watch.arm(order_id)
                await paid.shopper.process(paid.order)
                final = await world.watch.until(paid.shopper, order_id, FINAL, world.order_timeout)
                tally.done(time.perf_counter() - started, final, paid.expect)
            except Exception as exc:
                world.watch.events.pop(order_id, None)
                tally.error(f"process {order_id}: {exc!r}")

    tally.started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(level)))
    tally.ended = time.monotonic()
    tally.pool_ran_out = (
        not pool and tally.ended < stop_at and (limit is None or tally.begun < limit)
    )


async def drain(world: World, pool: deque[Paid], tally: Tally) -> None:
    """Hand over the prepared orders the level did not use (not timed), so none is left
    PAID when the invariants are checked."""

    async def one(paid: Paid) -> None:
        try:
            world.watch.arm(paid.order["id"])
            await paid.shopper.process(paid.order)
            final = await world.watch.until(
                paid.shopper, paid.order["id"], FINAL, world.order_timeout
            )
            if final["status"] != paid.expect:
                tally.error(f"left over {final['id']}: {final['status']}, expected {paid.expect}")
        except Exception as exc:
            tally.error(f"left over: {exc!r}")

    leftovers = list(pool)
    pool.clear()
    await limited([one(p) for p in leftovers], PREPARE_AT_ONCE)


# -- checkout ------------------------------------------------------------------------------
async def customer_path(world: World, shopper: Shopper, kind: str, courier: bool) -> dict[str, Any]:
    """The whole way of one order; `kind`: ok, declined (a declined card first) or
    out_of_stock (two of the one-unit product: the order fails at checkout)."""
    short = kind == "out_of_stock"
    first = world.rare if short else world.product()
    order = await shopper.place(first, quantity=2 if short else 1)
    order = await shopper.adjust(order, world.product(besides=first), 1)
    delivery = await world.delivery(shopper, courier)
    order = await shopper.checkout(order, delivery=delivery)
    if short:
        return order
    expect_status(order, "AWAITING_PAYMENT", "checkout")
    world.watch.arm(order["id"])
    if kind == "declined":
        refused = await shopper.pay(order, DECLINED_CARD)
        if refused["status"] != "FAILED":
            raise Unexpected(f"declined card: {refused}")
    payment = await shopper.pay(order)
    if payment["status"] != "SUCCEEDED":
        raise Unexpected(f"pay: {payment}")
    order = await world.watch.until(shopper, order["id"], {"PAID"}, world.order_timeout)
    world.watch.arm(order["id"])
    order = await shopper.process(order)
    return await world.watch.until(shopper, order["id"], FINAL, world.order_timeout)


async def checkout_window(
    world: World, level: int, stop_at: float, limit: int | None, share: float, tally: Tally
) -> None:
    async def worker(w: int) -> None:
        shopper = world.shoppers[w]
        while time.monotonic() < stop_at and (limit is None or tally.begun < limit):
            i = tally.begun
            tally.begun += 1
            n = failing(i, share)
            kind = "ok" if not n else ("declined" if n % 2 else "out_of_stock")
            started = time.perf_counter()
            try:
                final = await customer_path(world, shopper, kind, courier=i % 4 == 3)
                expect = "FAILED" if kind == "out_of_stock" else "CONFIRMED"
                tally.done(time.perf_counter() - started, final, expect)
            except Exception as exc:
                tally.error(f"{kind} order: {exc!r}")
                await recover(shopper)

    tally.started = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(level)))
    tally.ended = time.monotonic()
