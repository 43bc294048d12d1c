"""The outbox relay on the real database: it publishes each message once, in order, and
deletes what it published in one write for many hops (a delete per hop was a sixth of the
database writes of an order), leaving the outbox empty once nothing new comes."""

from __future__ import annotations

import uuid
from typing import Any

from pymongo import AsyncMongoClient

from schemas.envelope import Envelope
from schemas.topics import Topic
from servicekit.outbox import Outbox, outbox_doc

TOPIC = Topic("test.outbox-relay", "key", "test", ("test",), "a test topic")


class Recorder:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, topic: str, body: bytes, key: bytes | None, headers: Any) -> Any:
        self.bodies.append(body)

        async def ack() -> None:
            return None

        return ack()


async def deletes(client: AsyncMongoClient[dict[str, object]], ns: str) -> int:
    totals: Any = (await client.admin.command("top"))["totals"]
    return int(totals.get(ns, {}).get("remove", {}).get("count", 0))


async def test_relay_publishes_each_hop_once_and_deletes_them_in_one_write_when_idle(
    mongo: AsyncMongoClient[dict[str, object]],
) -> None:
    collection = mongo[f"relay-{uuid.uuid4().hex[:8]}"]["outbox"]
    sent = Recorder()
    relay = Outbox(collection, sent, poll_seconds=60.0)
    before = await deletes(mongo, collection.full_name)

    for hop in range(5):  # one message per transaction, the relay woken after each
        envelope = Envelope(type="Test", correlation_id=str(hop))
        await collection.insert_one(outbox_doc(TOPIC, f"m{hop}".encode(), "k", envelope))
        assert await relay.relay_once() == 1

    assert sent.bodies == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert await relay.relay_once() == 0  # nothing new: what went out is deleted now
    assert await collection.count_documents({}) == 0
    assert await deletes(mongo, collection.full_name) - before == 1
    assert sent.bodies == [b"m0", b"m1", b"m2", b"m3", b"m4"]


async def test_relay_deletes_once_its_oldest_published_message_is_a_poll_old(
    mongo: AsyncMongoClient[dict[str, object]],
) -> None:
    collection = mongo[f"relay-{uuid.uuid4().hex[:8]}"]["outbox"]
    relay = Outbox(collection, Recorder(), poll_seconds=0.0)
    envelope = Envelope(type="Test", correlation_id="c")
    await collection.insert_one(outbox_doc(TOPIC, b"m", "k", envelope))

    assert await relay.relay_once() == 1
    assert await collection.count_documents({}) == 0
