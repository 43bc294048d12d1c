"""What the bench's customers shop in: registered and logged-in shoppers, an admin, a catalog
with plenty of stock, one product that is never enough (checkout fails), fresh one-unit
products for orders the saga must compensate, and a watch on the bus that tells a waiting
customer when to look at its order again (so thousands of polls do not load the system)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from launcher.stack import Stack
from schemas import topics
from schemas.topics import consumer_group
from store_svc.seed import seed_catalog, warehouse_ids
from trials.shoppers.catalog import StockKey, prepare
from trials.shoppers.shopper import EdgeError, Shopper

T = TypeVar("T")
PLENTY = 100_000
WAREHOUSES = warehouse_ids(2)  # what trials.shoppers.catalog.prepare seeds
# the messages that move an order to PAID or to its final status, all read by order_svc
HINTS = (topics.PAYMENT_EVENTS.name, topics.ORDER_OUTCOMES.name)
APPLIER = consumer_group("order_svc")
APPLIED_POLL_S = 0.005  # how often the committed offsets of order_svc are read while some wait
FALLBACK_S = 3.0  # read the order anyway when no hint came for this long


class Unexpected(RuntimeError):
    """An answer the scenario did not expect (counted as an error)."""


async def limited(jobs: Sequence[Awaitable[T]], at_once: int) -> list[T]:
    gate = asyncio.Semaphore(at_once)

    async def one(job: Awaitable[T]) -> T:
        try:
            async with gate:
                return await job
        finally:
            if inspect.iscoroutine(job):
                job.close()  # cancelled while waiting for the gate: it never ran

    return await asyncio.gather(*(one(j) for j in jobs))


class Watch:
    """Tells a waiting customer when its order has changed, so that it reads the order once
    instead of polling it (polls of 64 customers would be most of the database's reads):
    it reads the topics whose messages move an order to PAID or to its final status, keyed
    by order id, and wakes the order's waiter once order_svc's consumer group has committed
    past that message (order_svc commits a message's offset only after its transaction has
    committed, so the change is readable then). The waiter then reads the order over HTTP,
    which is what the latency is measured to."""

    def __init__(self, bootstrap: str, partitions: int = topics.PARTITIONS) -> None:
        # a short fetch wait: the embedded broker answers a parked fetch only when it expires
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=25,
        )
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        # the topics' partitions as the stack made them (one on the embedded broker without
        # replicas): a partition that does not exist would be asked for in vain
        self.parts = [TopicPartition(t, p) for t in HINTS for p in range(partitions)]
        self.events: dict[str, asyncio.Event] = {}
        self.unapplied: dict[str, tuple[TopicPartition, int]] = {}  # order -> its last hint
        self.polls = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.consumer.start()
        await self.admin.start()
        self.consumer.assign(self.parts)
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._applied())]

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No fetch at all meanwhile (aiokafka sends none for paused partitions): the idle
        measure is of the shop, not of this consumer's parked fetches."""
        self.consumer.pause(*self.parts)
        try:
            yield
        finally:
            self.consumer.resume(*self.parts)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.consumer.stop()
        await self.admin.close()

    async def _read(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=500, max_records=1000)
            for tp, records in batch.items():
                for record in records:
                    key = record.key.decode() if record.key else ""
                    if key in self.events:
                        self.unapplied[key] = (tp, record.offset)

    async def _applied(self) -> None:
        """Wake the waiters whose last hint order_svc has committed past."""
        coordinator: int | None = None
        while True:
            await asyncio.sleep(APPLIED_POLL_S)
            if not self.unapplied:
                continue
            try:
                if coordinator is None:
                    coordinator = await self.admin.find_coordinator(APPLIER)
                committed = await self.admin.list_consumer_group_offsets(
                    APPLIER, coordinator, self.parts
                )
            except Exception:  # a broker hiccup: the fallback reads cover it
                coordinator = None
                continue
            for key, (tp, offset) in list(self.unapplied.items()):
                done = committed.get(tp)
                if done is not None and done.offset > offset:
                    del self.unapplied[key]
                    if (event := self.events.get(key)) is not None:
                        event.set()

    def arm(self, order_id: str) -> asyncio.Event:
        """Before the call that triggers the change, so its message cannot be missed."""
        return self.events.setdefault(order_id, asyncio.Event())

    async def until(
        self, shopper: Shopper, order_id: str, wanted: set[str], timeout: float
    ) -> dict[str, Any]:
        event = self.arm(order_id)
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"order {order_id} not {sorted(wanted)} in {timeout:.0f}s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(FALLBACK_S, left))
                event.clear()
                self.polls += 1
                order = await shopper.order(order_id)
                if order["status"] in wanted:
                    return order
        finally:
            self.events.pop(order_id, None)
            self.unapplied.pop(order_id, None)


@dataclass
class World:
    stack: Stack
    watch: Watch
    admin: Shopper
    shoppers: list[Shopper]
    normal: list[int]  # plenty of units in every warehouse
    rare: int  # one unit: ordering two fails at checkout
    pickups: list[dict[str, Any]]  # a pickup choice per pickup point
    initial: dict[StockKey, int]  # on hand per line as last counted (for the invariants)
    seed: int
    order_timeout: float = 60.0
    spare: list[int] = field(default_factory=list)  # one-unit products nobody ordered yet
    next_id: int = 0
    rng: random.Random = field(default_factory=random.Random)

    async def close(self) -> None:
        for s in [*self.shoppers, self.admin]:
            await s.__aexit__()
        await self.watch.stop()

    # -- stock, as an admin ---------------------------------------------------------------
    async def set_line(self, product: int, warehouse: str, on_hand: int) -> None:
        await self.admin.call(
            "store_svc", "PUT", f"/stock/{product}/{warehouse}", {"onHand": on_hand}
        )
        self.initial[(product, warehouse)] = on_hand

    async def set_lines(self, product: int, units: dict[str, int], timeout: float = 60) -> None:
        """Once the store has every warehouse line of the product from the feed (so no feed
        message lands after the count), count each line."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(EdgeError):
                body = await self.admin.call("store_svc", "GET", f"/stock/{product}")
                if {line["warehouseId"] for line in body["lines"]} >= set(units):
                    break
            if time.monotonic() > deadline:
                raise Unexpected(f"product {product}: the store has not got its stock lines")
            await asyncio.sleep(0.2)
        for warehouse, n in units.items():
            await self.set_line(product, warehouse, n)

    async def ensure_spares(self, count: int) -> None:
        """`count` fresh products with one unit in the first warehouse, published through the
        feeds like the rest of the catalog."""
        missing = count - len(self.spare)
        if missing <= 0:
            return
        first = self.next_id
        await seed_catalog(
            self.stack.kafka,
            products=missing,
            warehouses=len(WAREHOUSES),
            seed=self.seed + first,
            first_id=first,
            store_url=self.stack.procs["store_svc"].url,
        )
        self.next_id += missing
        fresh = list(range(first, first + missing))
        one = {WAREHOUSES[0]: 1, WAREHOUSES[1]: 0}
        await limited([self.set_lines(p, one) for p in fresh], 8)
        self.spare += fresh

    def product(self, besides: int | None = None) -> int:
        return self.rng.choice([p for p in self.normal if p != besides])

    async def delivery(self, shopper: Shopper, courier: bool) -> dict[str, Any]:
        """Any pickup point or courier company: customers spread over them, as delivery slots
        are counted per point and company."""
        return await shopper.delivery_choice("courier" if courier else "pickup", self.rng.choice)


async def recover(shopper: Shopper) -> None:
    """After an error, cancel the customer's cart if one was left behind (a customer has one
    cart at a time), so the error does not cascade into the next orders."""
    with contextlib.suppress(Exception):
        page = await shopper.call("order_svc", "GET", "/orders", params={"pageSize": "20"})
        for order in page["items"]:
            if order["status"] == "NEW":
                await shopper.cancel(order)


async def make_admin(mongo_url: str, username: str) -> None:
    """Give a registered user the admin role in auth_svc's own database, as `sagashop admin
    create` does for an existing user."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        await client.auth_svc.users.update_one(
            {"_id": username.lower()}, {"$addToSet": {"roles": "admin"}, "$inc": {"version": 1}}
        )
    finally:
        await client.close()


async def build_world(
    stack: Stack,
    customers: int,
    products: int,
    seed: int,
    order_timeout: float,
    tick: Callable[[str], None] = lambda _: None,
) -> World:
    watch = Watch(stack.kafka, stack.partitions)
    await watch.start()
    tick(f"catalog: {products + 1} products through the feeds")
    catalog = await prepare(stack, products + 1, seed)
    admin = await Shopper(stack.urls).__aenter__()
    await admin.register()
    await make_admin(stack.mongo, admin.name)
    ids = list(range(1, products + 2))
    world = World(
        stack=stack,
        watch=watch,
        admin=admin,
        shoppers=[],
        normal=ids[:-1],
        rare=ids[-1],
        pickups=[],
        initial=dict(catalog.initial),
        seed=seed,
        order_timeout=order_timeout,
        next_id=products + 2,
        rng=random.Random(seed),  # noqa: S311 - seeded benchmark load, not security
    )
    tick("catalog: plenty of stock")
    plenty = dict.fromkeys(WAREHOUSES, PLENTY)
    jobs = [world.set_lines(p, plenty) for p in world.normal]
    jobs.append(world.set_lines(world.rare, {WAREHOUSES[0]: 1, WAREHOUSES[1]: 0}))
    await limited(jobs, 8)
    tick(f"customers: {customers} registering")

    async def customer() -> Shopper:
        s = await Shopper(stack.urls).__aenter__()
        world.shoppers.append(s)
        await s.register()
        return s

    await limited([customer() for _ in range(customers)], 8)
    points = await admin.call("delivery_svc", "GET", "/pickup-points")
    world.pickups = [{"type": "pickup", "pointId": p["id"]} for p in points["items"]]
    return world
