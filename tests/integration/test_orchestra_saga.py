"""orchestra on the real broker and database, with the participants played by the test:
CONFIRM to all three, confirm on three successes, compensate on a FAIL or on silence, and
apply each reply once however often it is delivered."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from launcher.processes import ServiceProcess
from schemas import topics
from tests.conftest import start_service
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish, read_topic

PARTICIPANT_TOPICS = {
    "PAYMENT": topics.PAYMENT_CONFIRMATIONS.name,
    "STORE": topics.STORE_CONFIRMATIONS.name,
    "DELIVERY": topics.DELIVERY_CONFIRMATIONS.name,
}


@pytest.fixture(scope="module")
async def orchestra(infra: Infra) -> AsyncIterator[ServiceProcess]:
    proc = start_service(
        infra, "orchestra", Path(tempfile.mkdtemp()), env={"SAGASHOP_SAGA_TIMEOUT_SECONDS": "4"}
    )
    await proc.wait_ready()
    yield proc
    proc.kill()


def paid_order() -> dict[str, Any]:
    order_id = f"o-{uuid.uuid4().hex[:10]}"
    return {
        "orderId": order_id,
        "version": 3,
        "userName": "ivan",
        "total": 2500,
        "orderItems": [
            {
                "id": 1,
                "productId": 7,
                "productName": "Велосипед",
                "productPrice": 2500,
                "quantity": 1,
            }
        ],
        "delivery": {"type": "pickup", "pointId": 1},
        "paymentId": "pay-1",
    }


async def messages_for(
    infra: Infra, topic: str, order_id: str, expect: int, timeout: float = 15
) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]] | None:
        records = await read_topic(infra.kafka_bootstrap, topic, expect=10**9, timeout=0.5)
        mine = [json.loads(r.value) for r in records if r.key == order_id.encode()]
        return mine if len(mine) >= expect else None

    result: list[dict[str, Any]] = await eventually(found, timeout=timeout)
    return result


async def answer(
    infra: Infra,
    order_id: str,
    who: str,
    kind: str,
    response: str,
    message_id: str | None = None,
    reason: str | None = None,
) -> None:
    body = {"orderId": order_id, "requestType": kind, "confirmator": who, "response": response}
    if reason:
        body["reason"] = reason
    await publish(
        infra.kafka_bootstrap,
        topics.CONFIRMATION_REPLIES.name,
        body,
        key=order_id,
        message_id=message_id,
    )


async def start_saga(infra: Infra) -> dict[str, Any]:
    order = paid_order()
    await publish(
        infra.kafka_bootstrap, topics.ORDER_CONFIRMATION_REQUESTS.name, order, key=order["orderId"]
    )
    for who, topic in PARTICIPANT_TOPICS.items():
        [request] = await messages_for(infra, topic, order["orderId"], 1)
        assert request["requestType"] == "CONFIRM" and request["confirmator"] == who
        assert request["orderItems"] == order["orderItems"] and request["total"] == 2500
    return order


async def test_three_successes_confirm_the_order_and_tell_order_and_notification(
    infra: Infra, orchestra: ServiceProcess, mongo
):
    order = await start_saga(infra)
    oid = order["orderId"]
    for who in PARTICIPANT_TOPICS:
        await answer(infra, oid, who, "CONFIRM", "SUCCESS")
    [outcome] = await messages_for(infra, topics.ORDER_OUTCOMES.name, oid, 1)
    assert outcome == {"orderId": oid, "version": 3, "response": "SUCCESS"}
    [note] = await messages_for(infra, topics.SAGA_NOTIFICATIONS.name, oid, 1)
    assert note["username"] == "ivan" and note["response"] == "SUCCESS"
    saga = await mongo[orchestra.name].sagas.find_one({"_id": oid})
    assert saga["state"] == "CONFIRMED"
    assert saga["steps"] == {"PAYMENT": "SUCCESS", "STORE": "SUCCESS", "DELIVERY": "SUCCESS"}


async def test_a_fail_reverses_every_participant_and_cancels_with_its_reason(
    infra: Infra, orchestra: ServiceProcess, mongo
):
    oid = (await start_saga(infra))["orderId"]
    await answer(infra, oid, "PAYMENT", "CONFIRM", "SUCCESS")
    await answer(infra, oid, "STORE", "CONFIRM", "FAIL", reason="no stock for product 7")
    for who, topic in PARTICIPANT_TOPICS.items():
        msgs = await messages_for(infra, topic, oid, 2)
        assert [m["requestType"] for m in msgs] == ["CONFIRM", "REVERSE"], who
    for who in PARTICIPANT_TOPICS:
        await answer(infra, oid, who, "REVERSE", "SUCCESS")
    [outcome] = await messages_for(infra, topics.ORDER_OUTCOMES.name, oid, 1)
    assert outcome["response"] == "FAIL" and outcome["reason"] == "STORE: no stock for product 7"
    saga = await mongo[orchestra.name].sagas.find_one({"_id": oid})
    assert saga["state"] == "CANCELLED"


async def test_silence_past_the_deadline_counts_as_fail(
    infra: Infra, orchestra: ServiceProcess, mongo
):
    oid = (await start_saga(infra))["orderId"]
    await answer(infra, oid, "PAYMENT", "CONFIRM", "SUCCESS")
    await answer(infra, oid, "STORE", "CONFIRM", "SUCCESS")
    reverses = await messages_for(infra, topics.DELIVERY_CONFIRMATIONS.name, oid, 2, timeout=20)
    assert reverses[1]["requestType"] == "REVERSE"
    saga = await mongo[orchestra.name].sagas.find_one({"_id": oid})
    assert saga["state"] == "COMPENSATING" and "DELIVERY" in saga["reason"]


async def test_replies_delivered_twice_are_applied_once(
    infra: Infra, orchestra: ServiceProcess, mongo
):
    oid = (await start_saga(infra))["orderId"]
    await answer(infra, oid, "PAYMENT", "CONFIRM", "SUCCESS", message_id=f"{oid}-r1")
    await answer(infra, oid, "PAYMENT", "CONFIRM", "SUCCESS", message_id=f"{oid}-r1")
    await answer(infra, oid, "STORE", "CONFIRM", "SUCCESS")
    await answer(infra, oid, "DELIVERY", "CONFIRM", "SUCCESS")
    await answer(infra, oid, "DELIVERY", "CONFIRM", "SUCCESS")  # a copy with a new id
    await messages_for(infra, topics.ORDER_OUTCOMES.name, oid, 1)
    outcomes = await messages_for(infra, topics.ORDER_OUTCOMES.name, oid, 1, timeout=3)
    assert len(outcomes) == 1
    saga = await mongo[orchestra.name].sagas.find_one({"_id": oid})
    assert [h["event"] for h in saga["history"]].count("confirmed") == 1
    # the same order handed over twice starts one saga
    await publish(
        infra.kafka_bootstrap,
        topics.ORDER_CONFIRMATION_REQUESTS.name,
        {**paid_order(), "orderId": oid},
        key=oid,
    )
    await eventually(lambda: _handled(orchestra), timeout=10)
    assert len(await messages_for(infra, topics.PAYMENT_CONFIRMATIONS.name, oid, 1)) == 1


async def _handled(proc: ServiceProcess) -> bool:
    return "exists; request ignored" in proc.log_tail(400)


def cancellation(order: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        **order,
        "version": 7,
        "reason": "changed my mind",
        "by": "ivan",
        "kind": "CANCEL",
        "disposition": "RESTOCK",
        **more,
    }


async def test_a_cancellation_of_a_confirmed_saga_reverses_everyone_and_ends_cancelled(
    infra: Infra, orchestra: ServiceProcess, mongo
):
    order = await start_saga(infra)
    oid = order["orderId"]
    for who in PARTICIPANT_TOPICS:
        await answer(infra, oid, who, "CONFIRM", "SUCCESS")
    await messages_for(infra, topics.ORDER_OUTCOMES.name, oid, 1)
    body = cancellation(order, disposition="WRITE_OFF")
    await publish(infra.kafka_bootstrap, topics.ORDER_CANCELLATIONS.name, body, key=oid)
    for who, topic in PARTICIPANT_TOPICS.items():
        [_, reverse] = await messages_for(infra, topic, oid, 2)
        assert reverse["requestType"] == "REVERSE" and reverse["disposition"] == "WRITE_OFF", who
    for who in PARTICIPANT_TOPICS:
        await answer(infra, oid, who, "REVERSE", "SUCCESS")
    [_, outcome] = await messages_for(infra, topics.ORDER_OUTCOMES.name, oid, 2)
    assert outcome == {
        "orderId": oid,
        "version": 7,
        "response": "FAIL",
        "reason": "changed my mind",
    }
    saga = await mongo[orchestra.name].sagas.find_one({"_id": oid})
    assert saga["state"] == "CANCELLED" and saga["cancellation"]["by"] == "ivan"
    events = [h["event"] for h in saga["history"]]
    assert events[-6:] == [
        "cancellation asked",
        "compensating",
        "REVERSE SUCCESS",
        "REVERSE SUCCESS",
        "REVERSE SUCCESS",
        "cancelled",
    ]
    # asked again (a redelivery, or order_svc asking twice): the outcome is said again, no REVERSE
    await publish(infra.kafka_bootstrap, topics.ORDER_CANCELLATIONS.name, body, key=oid)
    await messages_for(infra, topics.ORDER_OUTCOMES.name, oid, 3)
    assert len(await messages_for(infra, topics.PAYMENT_CONFIRMATIONS.name, oid, 2)) == 2


async def test_a_cancellation_before_any_saga_reverses_everyone_and_a_late_hand_over_is_ignored(
    infra: Infra, orchestra: ServiceProcess, mongo
):
    order = paid_order()
    oid = order["orderId"]
    body = cancellation(order, reason="the order could not be confirmed in time", by="order_svc")
    await publish(infra.kafka_bootstrap, topics.ORDER_CANCELLATIONS.name, body, key=oid)
    for who, topic in PARTICIPANT_TOPICS.items():
        [reverse] = await messages_for(infra, topic, oid, 1)
        assert reverse["requestType"] == "REVERSE" and reverse["paymentId"] == "pay-1", who
        await answer(infra, oid, who, "REVERSE", "SUCCESS")
    [outcome] = await messages_for(infra, topics.ORDER_OUTCOMES.name, oid, 1)
    assert outcome["response"] == "FAIL" and outcome["version"] == 7
    await publish(infra.kafka_bootstrap, topics.ORDER_CONFIRMATION_REQUESTS.name, order, key=oid)

    async def ignored() -> bool:
        return f"saga {oid} exists; request ignored" in orchestra.log_tail(400)

    await eventually(ignored, timeout=10)
    assert len(await messages_for(infra, topics.PAYMENT_CONFIRMATIONS.name, oid, 1)) == 1
    saga = await mongo[orchestra.name].sagas.find_one({"_id": oid})
    assert saga["state"] == "CANCELLED"
