"""Talking to billing_svc from tests the way payment_svc and order_svc do: ledger requests and
gift-card issue requests on Kafka, replies and deliveries read back from their topics."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from schemas import topics
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish, read_topic


def ledger_request(
    username: str,
    op: str,
    amount: int,
    kind: str = "WALLET",
    account_id: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """A `BillingRequest` body; a new request id and payment id unless given."""
    return {
        "requestId": request_id or f"req-{uuid.uuid4()}",
        "op": op,
        "accountKind": kind,
        "accountId": account_id or username,
        "username": username,
        "amount": amount,
        "currency": "RUB",
        "reason": "PAYMENT" if op == "DEBIT" else "TOP_UP",
        "paymentId": f"pay-{uuid.uuid4()}",
        "orderId": f"ord-{uuid.uuid4()}",
        "timestamp": datetime.now(UTC).isoformat(),
    }


async def send_request(infra: Infra, body: dict[str, Any]) -> None:
    """Publish as payment_svc does: keyed by the account, a message id of its own."""
    topic = topics.BILLING_REQUESTS.name
    await publish(infra.kafka_bootstrap, topic, body, key=body["accountId"])


async def messages_keyed(
    infra: Infra, topic: topics.Topic, keys: list[str], per_key: int = 1, timeout: float = 30
) -> list[dict[str, Any]]:
    """The bodies on `topic` whose key is one of `keys`, once each key has `per_key`."""
    wanted = {key.encode() for key in keys}

    async def found() -> list[dict[str, Any]] | None:
        records = await read_topic(infra.kafka_bootstrap, topic.name, expect=10**9, timeout=0.5)
        mine = [r for r in records if r.key in wanted]
        counts = {key: sum(1 for r in mine if r.key == key) for key in wanted}
        if min(counts.values()) < per_key:
            return None
        return [json.loads(r.value) for r in mine]

    result: list[dict[str, Any]] = await eventually(found, timeout=timeout)
    return result


async def reply_to(infra: Infra, body: dict[str, Any], count: int = 1) -> dict[str, Any]:
    """The (last) reply billing gave to the request `body` (replies are keyed by paymentId)."""
    replies = await messages_keyed(infra, topics.BILLING_REPLIES, [body["paymentId"]], count)
    return replies[-1]


async def settle(infra: Infra, body: dict[str, Any]) -> dict[str, Any]:
    await send_request(infra, body)
    return await reply_to(infra, body)


def issue_request(buyer: str, amount: int = 150_000) -> dict[str, Any]:
    """A `GiftCardIssueRequest` body for a new paid gift-card order."""
    return {
        "orderId": f"gco-{uuid.uuid4()}",
        "paymentId": f"pay-{uuid.uuid4()}",
        "buyer": buyer,
        "amount": amount,
        "currency": "RUB",
        "design": "birthday",
        "doneeName": "Maria",
        "doneeEmail": "maria@example.com",
        "timestamp": datetime.now(UTC).isoformat(),
    }


async def send_issue(infra: Infra, body: dict[str, Any]) -> None:
    topic = topics.GIFT_CARD_ISSUES.name
    await publish(infra.kafka_bootstrap, topic, body, key=body["orderId"])


async def deliveries_of(infra: Infra, order_id: str) -> list[dict[str, Any]]:
    """The gift-card e-mails (with codes) billing sent for `order_id` so far."""
    topic = topics.GIFT_CARD_DELIVERIES.name
    records = await read_topic(infra.kafka_bootstrap, topic, expect=10**9, timeout=1.0)
    bodies = [json.loads(r.value) for r in records]
    return [b for b in bodies if b.get("orderId") == order_id]
