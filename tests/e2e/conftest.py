"""The whole system for end-to-end tests: every service as its own process on an embedded
broker and database of its own (nothing shared with the integration tests), plus a small
catalog published the way the neighbour systems publish it. The e2e modules share one running
system (E2E_ENV) and run one after another; a module that needs other settings (a `system`
fixture of its own, from `systems`) runs after them."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from launcher.stack import Stack
from schemas import topics
from tests.conftest import FAST_HASHING
from tests.support.infra import FAST_REJOIN
from tests.support.kafka import eventually
from tests.support.systems import Systems

HERE = Path(__file__).parent

# the warehouse, the carriers and the pickup points stand still: a confirmed order stays
# CONFIRMED (test_fulfilment.py lets them run)
SIMULATORS_PAUSED = {
    "SAGASHOP_WAREHOUSE_PACE_SECONDS": "3600",
    "SAGASHOP_CARRIER_PACE_SECONDS": "3600",
    "SAGASHOP_PICKUP_TRANSIT_SECONDS": "3600",
    "SAGASHOP_PICKUP_COLLECT_SECONDS": "3600",
}
SYSTEM_ENV = {
    **FAST_HASHING,
    **FAST_REJOIN,  # a killed or stopped service restarted is ready seconds sooner
    **SIMULATORS_PAUSED,
    "SAGASHOP_SAGA_TIMEOUT_SECONDS": "6",
    "SAGASHOP_PAYMENT_TIMEOUT_SECONDS": "12",
    "SAGASHOP_LOG_JSON": "false",
}
# the shared system: the reports' X-Api-Key (test_access_matrix), and a send throttle per
# target (tested in test_edge_holes) generous enough for every caller of the access matrix's
# rows and for the fuzzed registrations and resets
REPORT_KEY = uuid.uuid4().hex
E2E_ENV = {
    **SYSTEM_ENV,
    "SAGASHOP_REPORT_API_KEYS": REPORT_KEY,
    "SAGASHOP_SEND_LIMIT_TARGET": "1000",
}


@dataclass
class System:
    stack: Stack

    @property
    def urls(self) -> dict[str, str]:
        return {n: p.url for n, p in self.stack.procs.items()}

    async def add_product(
        self, name: str, price: int, stock: dict[str, int], description: str = ""
    ) -> int:
        """A product from the product feed and its stock from the warehouse feed."""
        product_id = random.randint(10**6, 10**9)
        producer = AIOKafkaProducer(bootstrap_servers=self.stack.kafka)
        await producer.start()
        try:
            feed = {
                "id": product_id,
                "name": name,
                "description": description or name,
                "measurments": {"weight": 1, "height": 1, "width": 1, "lenght": 1},
                "cost": price,
                "tax": 0,
                "version": 1,
            }
            await producer.send_and_wait(
                topics.PRODUCT_FEED.name, json.dumps(feed).encode(), key=str(product_id).encode()
            )
            for warehouse, units in stock.items():
                level = {
                    "productId": product_id,
                    "warehouseId": warehouse,
                    "onHand": units,
                    "version": 1,
                }
                await producer.send_and_wait(
                    topics.STOCK_FEED.name, json.dumps(level).encode(), key=str(product_id).encode()
                )
        finally:
            await producer.stop()
        await eventually(lambda: self._available(product_id, sum(stock.values())), timeout=20)
        return product_id

    async def _available(self, product_id: int, units: int) -> bool:
        from tests.support.http import Client

        client = Client(self.urls["store_svc"])
        try:
            status, body = await client.get(f"/stocks/{product_id}")
            return status == 200 and body["count"] == units
        finally:
            await client.close()


def which_system(item: pytest.Item) -> int:
    """0: none, 1: the shared one, 2: its own (the module defines `system`)."""
    if "system" not in getattr(item, "fixturenames", ()):
        return 0
    return 2 if hasattr(getattr(item, "module", None), "system") else 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The e2e modules that start no system first, then those on the shared system, then those
    with their own (each group in file order): the shared system starts once, and no system
    idles beside another."""
    places = [i for i, item in enumerate(items) if item.path.parent == HERE]
    e2e = sorted((items[i] for i in places), key=which_system)
    for i, item in zip(places, e2e, strict=True):
        items[i] = item


@pytest.fixture(scope="package")  # stopped after the last e2e test: idle, it still costs
async def systems() -> AsyncIterator[Systems]:
    running = Systems()
    try:
        yield running
    finally:
        running.release()


@pytest.fixture(scope="module")
async def system(systems: Systems) -> System:
    """The shared system: a module leaves it as it found it (a process it kills is started
    again, a simulator it sets is set back)."""
    return System(await systems.acquire(E2E_ENV))
