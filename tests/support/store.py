"""Helpers for store_svc's tests: feed messages, logged-in customers and admins (through
auth_svc's edge), saga requests and the replies to them."""

from __future__ import annotations

import json
import random
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from launcher.processes import ServiceProcess
from schemas import topics
from tests.support.http import Client
from tests.support.kafka import eventually, publish

CYRILLIC = "абвгдежзиклмнопрстуфхцчшщэюя"


def unique_id() -> int:
    """A product id no other test uses (topics are shared by the whole test session)."""
    return random.randint(10**9, 2**53)


def nonce(letters: str = CYRILLIC, size: int = 9) -> str:
    """A word no other product has."""
    return "".join(random.choice(letters) for _ in range(size))


def product(
    product_id: int,
    name: str,
    description: str | None = None,
    cost: int = 10_000,
    tax: int = 2_000,
    version: int = 1,
) -> dict[str, Any]:
    """003's product feed message."""
    body: dict[str, Any] = {
        "id": product_id,
        "name": name,
        "measurments": {"weight": 500, "height": 10, "width": 20, "lenght": 30},
        "cost": cost,
        "tax": tax,
        "version": version,
    }
    if description is not None:
        body["description"] = description
    return body


async def feed_product(bootstrap: str, body: dict[str, Any], key: str | None = None) -> None:
    await publish(bootstrap, topics.PRODUCT_FEED.name, body, key=key or str(body["id"]))


async def feed_stock(
    bootstrap: str, product_id: int, warehouse: str, on_hand: int, version: int = 1
) -> None:
    body = {
        "productId": product_id,
        "warehouseId": warehouse,
        "onHand": on_hand,
        "version": version,
    }
    await publish(bootstrap, topics.STOCK_FEED.name, body, key=str(product_id))


async def card_of(client: Client, product_id: int, version: int = 1) -> dict[str, Any]:
    """The product's card once the store has taken `version` (or a newer one) from the feed."""

    async def seen() -> dict[str, Any] | None:
        status, body = await client.get(f"/products/{product_id}")
        return body if status == 200 and body["version"] >= version else None

    card: dict[str, Any] = await eventually(seen, timeout=20, interval=0.1)
    return card


async def stock_count(client: Client, product_id: int, expect: int) -> int:
    async def counted() -> bool:
        status, body = await client.get(f"/stocks/{product_id}")
        return status == 200 and body["count"] == expect

    await eventually(counted, timeout=20, interval=0.1)
    return expect


async def logged_in(auth: ServiceProcess, base_url: str) -> tuple[Client, str]:
    """A new customer, registered and logged in through auth_svc, calling `base_url`."""
    tag = uuid.uuid4().hex[:10]
    user = {
        "username": f"shopper_{tag}",
        "firstName": "Анна",
        "lastName": "Смирнова",
        "email": f"anna.{tag}@example.com",
        "phone": f"+7916{int(tag, 16) % 10**7:07d}",
        "password": "store-pass-123",
    }
    client = Client(base_url)
    status, body = await client.post("/register", user, base=auth.url)
    assert status == 200, body
    status, body = await client.post(
        "/login", {"username": user["username"], "password": user["password"]}, base=auth.url
    )
    assert status == 200, body
    return client, user["username"]


async def make_admin(mongo: AsyncMongoClient[Any], auth: ServiceProcess, username: str) -> None:
    """The role straight in auth_svc's database (the CLI's way is tested with auth_svc)."""
    await mongo[auth.name].users.update_one(
        {"_id": username.lower()}, {"$addToSet": {"roles": "admin"}}
    )


def saga_request(order_id: str, request_type: str, items: list[tuple[int, int]]) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "requestType": request_type,
        "confirmator": "STORE",
        "userName": "saga-test",
        "orderItems": [
            {
                "id": n,
                "productId": product_id,
                "productName": f"product {product_id}",
                "productPrice": 1000,
                "quantity": quantity,
            }
            for n, (product_id, quantity) in enumerate(items, start=1)
        ],
    }


async def ask_store(bootstrap: str, body: dict[str, Any], message_id: str | None = None) -> str:
    return await publish(
        bootstrap,
        topics.STORE_CONFIRMATIONS.name,
        body,
        key=body["orderId"],
        message_id=message_id,
    )


async def replies_for(
    bootstrap: str, order_id: str, expect: int, timeout: float = 20.0, linger: float = 1.5
) -> list[dict[str, Any]]:
    """The store's replies about `order_id`, once `expect` have come, plus any that come within
    `linger` seconds after (so a duplicate reply would be seen)."""
    consumer = AIOKafkaConsumer(
        topics.CONFIRMATION_REPLIES.name,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    if record.key == order_id.encode():
                        body = json.loads(record.value)
                        if body["confirmator"] == "STORE":
                            found.append(body)
            if len(found) >= expect:
                deadline = min(deadline, time.monotonic() + linger)
        return found
    finally:
        await consumer.stop()
