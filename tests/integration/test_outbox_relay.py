"""The outbox relay on the real database: it publishes each message once, in order, and
deletes what it published in one write for many hops (a delete per hop was a sixth of the
database writes of an order), leaving the outbox empty once nothing new comes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from schemas.envelope import Envelope
from schemas.topics import Topic
from servicekit import outbox
from servicekit.outbox import PUBLISHED_AT, Outbox, outbox_doc

TOPIC = Topic("test.outbox-relay", "key", "test", ("test",), "a test topic")


class Recorder:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []

    async def __call__(self, topic: str, body: bytes, key: bytes | None, headers: Any) -> Any:
        self.bodies.append(body)
        self.headers.append(headers)

        async def ack() -> None:
            return None

        return ack()


async def deletes(client: AsyncMongoClient[dict[str, object]], ns: str, of: str = "remove") -> int:
    totals: Any = (await client.admin.command("top"))["totals"]
    return int(totals.get(ns, {}).get(of, {}).get("count", 0))


def message(body: str) -> dict[str, Any]:
    return outbox_doc(TOPIC, body.encode(), "k", Envelope(type="Test", correlation_id=body))


def relay_on_a_new_outbox(
    mongo: AsyncMongoClient[dict[str, object]], **options: Any
) -> tuple[AsyncCollection[dict[str, object]], Recorder, Outbox]:
    """A relay on an outbox collection of its own, recording what it publishes; its poll a
    minute away unless `options` say otherwise (only the test wakes it)."""
    collection = mongo[f"relay-{uuid.uuid4().hex[:8]}"]["outbox"]
    sent = Recorder()
    return collection, sent, Outbox(collection, sent, **{"poll_seconds": 60.0, **options})


async def test_relay_publishes_each_hop_once_and_deletes_them_in_one_write_when_idle(
    mongo: AsyncMongoClient[dict[str, object]],
) -> None:
    collection, sent, relay = relay_on_a_new_outbox(mongo)
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


async def test_relay_deletes_once_its_oldest_published_message_waited_long_enough(
    mongo: AsyncMongoClient[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "DELETE_AFTER_SECONDS", 0.0)
    collection, _, relay = relay_on_a_new_outbox(mongo)
    envelope = Envelope(type="Test", correlation_id="c")
    await collection.insert_one(outbox_doc(TOPIC, b"m", "k", envelope))

    assert await relay.relay_once() == 1
    assert await collection.count_documents({}) == 0


async def test_relay_stamps_the_publish_moment_and_reports_the_wait_since_the_outbox_write(
    mongo: AsyncMongoClient[dict[str, object]],
) -> None:
    waits: list[tuple[str, float]] = []
    collection, sent, relay = relay_on_a_new_outbox(
        mongo, on_publish=lambda topic, s: waits.append((topic, s))
    )
    envelope = Envelope(type="Test", correlation_id="c")
    doc = outbox_doc(TOPIC, b"m", "k", envelope)
    await collection.insert_one(doc)

    assert await relay.relay_once() == 1

    [headers] = sent.headers
    published = datetime.fromisoformat(headers.pop(PUBLISHED_AT))
    assert headers == envelope.to_headers()  # the envelope (and its message_id) untouched
    assert Envelope.from_headers(sent.headers[0]) == envelope
    created = doc["created_at"].replace(microsecond=doc["created_at"].microsecond // 1000 * 1000)
    assert created <= published <= datetime.now(UTC)
    [(topic, seconds)] = waits
    assert topic == TOPIC.name
    assert seconds == (published - created).total_seconds() >= 0


async def test_an_idle_relay_deletes_what_it_published_without_waiting_for_its_poll(
    mongo: AsyncMongoClient[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "DELETE_AFTER_SECONDS", 0.3)
    collection, sent, relay = relay_on_a_new_outbox(mongo)
    envelope = Envelope(type="Test", correlation_id="c")
    await collection.insert_one(outbox_doc(TOPIC, b"m", "k", envelope))
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(1.5)  # nothing wakes it again; its poll is a minute away
        assert sent.bodies == [b"m"]
        assert await collection.count_documents({}) == 0
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_a_caught_up_relay_sends_what_commits_hand_over_without_reading_the_outbox(
    mongo: AsyncMongoClient[dict[str, object]],
) -> None:
    collection, sent, relay = relay_on_a_new_outbox(mongo)
    await collection.database.create_collection(collection.name)
    assert await relay.relay_once() == 0  # its first read: no backlog
    reads = await deletes(mongo, collection.full_name, "queries")
    assert reads >= 1

    for hop in range(5):  # each transaction writes its message, then hands it over
        doc = message(f"m{hop}")
        await collection.insert_one(doc)
        relay.wake([doc])
        assert await relay.relay_once() == 1

    assert sent.bodies == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert await deletes(mongo, collection.full_name, "queries") == reads  # was one per hop
    assert await relay.relay_once() == 0  # nothing handed over: it reads, and deletes
    assert await collection.count_documents({}) == 0


async def test_after_a_failed_commit_the_relay_reads_first_so_an_older_message_goes_first(
    mongo: AsyncMongoClient[dict[str, object]],
) -> None:
    collection, sent, relay = relay_on_a_new_outbox(mongo)
    assert await relay.relay_once() == 0
    await collection.insert_one(message("committed, though its commit raised"))
    relay.reread()
    later = message("handed over")
    await collection.insert_one(later)
    relay.wake([later])

    assert await relay.relay_once() == 2
    assert sent.bodies == [b"committed, though its commit raised", b"handed over"]
    assert await relay.relay_once() == 0  # the hand-over was sent with the read: not again
    assert len(sent.bodies) == 2
