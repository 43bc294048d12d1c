"""The whole system for end-to-end tests: every service as its own process on its own
embedded broker and database (nothing shared with the other tests), plus a small catalog
published the way the neighbour systems publish it."""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from launcher.stack import Stack
from schemas import topics
from tests.conftest import FAST_HASHING
from tests.support.kafka import eventually

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
    **SIMULATORS_PAUSED,
    "SAGASHOP_SAGA_TIMEOUT_SECONDS": "6",
    "SAGASHOP_PAYMENT_TIMEOUT_SECONDS": "12",
    "SAGASHOP_LOG_JSON": "false",
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


@pytest.fixture(scope="module")  # stopped after its module: idle, it still costs a core
async def system() -> AsyncIterator[System]:
    stack = Stack(Path(tempfile.mkdtemp(prefix="sagashop-e2e-")), extra_env=SYSTEM_ENV)
    await stack.start()
    try:
        yield System(stack)
    finally:
        await stack.stop()
