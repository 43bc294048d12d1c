"""Helpers for gift-card order tests: a customer's calls to order_svc's edge, and payment_svc's
and billing_svc's messages to it, published on their real topics."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from schemas import topics
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish, read_topic

GIFT = {"doneeName": "Иван", "doneeEmail": "ivan.donee@example.com", "amount": 300_000}


async def order_gift_card(client: Client, **body: Any) -> dict[str, Any]:
    status, order = await client.post("/gift-card-orders", {**GIFT, **body})
    assert status == 200, order
    return dict(order)


async def order_of(client: Client, order_id: str) -> dict[str, Any]:
    status, order = await client.get(f"/get?orderId={order_id}")
    assert status == 200, order
    return dict(order)


async def reaches(client: Client, order_id: str, status: str) -> dict[str, Any]:
    async def there() -> dict[str, Any] | None:
        order = await order_of(client, order_id)
        return order if order["status"] == status else None

    found: dict[str, Any] = await eventually(there)
    return found


def now() -> str:
    return datetime.now(UTC).isoformat()


async def paid(infra: Infra, order: dict[str, Any], payment_id: str | None = None) -> str:
    """payment_svc's word that the order's payment succeeded; the payment's id."""
    payment_id = payment_id or f"pay-{uuid.uuid4().hex[:12]}"
    body = {
        "orderId": order["id"],
        "paymentId": payment_id,
        "amount": order["total"],
        "status": "SUCCEEDED",
        "timestamp": now(),
    }
    await publish(infra.kafka_bootstrap, topics.PAYMENT_EVENTS.name, body, key=order["id"])
    return payment_id


async def issued(
    infra: Infra,
    order: dict[str, Any],
    payment_id: str,
    number: str,
    key: str | None = None,
    message_id: str | None = None,
) -> str:
    """billing_svc's word that the order's card exists; the message's id."""
    body = {
        "orderId": order["id"],
        "paymentId": payment_id,
        "giftCardId": f"gc-{number}",
        "number": number,
        "amount": order["total"],
        "timestamp": now(),
    }
    return await publish(
        infra.kafka_bootstrap,
        topics.GIFT_CARDS_ISSUED.name,
        body,
        key=key or order["id"],
        message_id=message_id,
    )


async def on_topic(infra: Infra, topic: topics.Topic, key: str, expect: int = 1) -> list[Any]:
    """The messages keyed `key` on `topic`, once at least `expect` are there."""

    async def found() -> list[Any] | None:
        records = await read_topic(infra.kafka_bootstrap, topic.name, expect=10**9, timeout=0.5)
        mine = [json.loads(r.value) for r in records if r.key == key.encode()]
        return mine if len(mine) >= expect else None

    result: list[Any] = await eventually(found)
    return result
