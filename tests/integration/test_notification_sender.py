"""The notification sender on the real database: it claims what is due in one write, sends
it, and records the outcomes in one write. Two senders (two notification_svc processes, or a
restarted one beside a slow one) must never send one notification twice, and a sender whose
claim ran out must not overwrite what the sender that took over recorded."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient, monitoring

from notification_svc.adapters import Channels, FakeProvider
from notification_svc.domain import Failed, Sent, greeting
from notification_svc.repository import Notifications
from notification_svc.sender import Sender
from notification_svc.settings import NotificationSettings
from schemas.auth import UserRegistered
from tests.support.infra import Infra

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


class CountingProvider(FakeProvider):
    """Counts every send call per idempotency key (FakeProvider answers a repeat with the
    first send, so a double send would otherwise go unseen)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def _send(self, key: str, **message: str) -> str:
        self.calls[key] += 1
        return super()._send(key, **message)


async def queued(mongo: Any, count: int) -> tuple[Notifications, list[str]]:
    repo = Notifications(mongo[f"notification-sender-{uuid.uuid4().hex[:8]}"])
    await repo.ensure_indexes()
    ids = []
    async with mongo.start_session() as session:
        for i in range(count):
            user = UserRegistered(
                username=f"u{i}", first_name="A", last_name="B", email="a@ex.ru", phone="+7900"
            )
            n = greeting(user, uuid.uuid4(), NOW)
            assert await repo.add(n, session)
            ids.append(n.id)
    return repo, ids


async def test_two_senders_on_the_same_backlog_send_each_notification_exactly_once(mongo):
    repo, ids = await queued(mongo, 30)
    provider = CountingProvider()
    channels = Channels(sms=provider, email=provider)
    settings = NotificationSettings(send_batch=20)
    senders = [Sender(repo, channels, settings, lambda: NOW) for _ in range(2)]

    while sum(await asyncio.gather(*(s.send_due() for s in senders))):
        pass

    assert provider.calls == Counter(dict.fromkeys(ids, 1))
    docs = await repo.collection.find({"_id": {"$in": ids}}).to_list()
    assert {(d["status"], d["attempts"]) for d in docs} == {("SENT", 1)}
    assert not any("dueAt" in d or "claim" in d for d in docs)


async def test_a_sender_whose_claim_ran_out_records_nothing_over_the_sender_that_took_over(mongo):
    repo, ids = await queued(mongo, 3)
    lease = timedelta(seconds=30)
    slow, mine = await repo.claim(ids, NOW, lease)
    assert mine == set(ids)
    assert (await repo.claim(ids, NOW + timedelta(seconds=5), lease))[1] == set()  # still leased

    later = NOW + lease + timedelta(seconds=1)
    fast, taken = await repo.claim(ids, later, lease)
    assert taken == set(ids)
    assert await repo.record(fast, {i: Sent("p-1", later) for i in ids}) == 3
    assert await repo.record(slow, {i: Failed("too slow") for i in ids}) == 0

    docs = await repo.collection.find({"_id": {"$in": ids}}).to_list()
    assert {(d["status"], d["providerId"], d["attempts"]) for d in docs} == {("SENT", "p-1", 2)}


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass
class WatchedSender:
    """A sender on a database client of its own whose commands are listed (`seen`)."""

    client: AsyncMongoClient[Any]
    repo: Notifications
    sender: Sender
    provider: CountingProvider
    seen: Commands

    def commands(self, *names: str) -> list[str]:
        """The commands of these names the client sent, in order."""
        return [c for c in self.seen.names if c in names]


@asynccontextmanager
async def watched_sender(infra: Infra, repo: Notifications) -> AsyncIterator[WatchedSender]:
    """A sender, with a counting provider, on `repo`'s database through a watched client."""
    seen = Commands()
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        infra.mongo_url, tz_aware=True, event_listeners=[seen]
    )
    try:
        watched = Notifications(client[repo.collection.database.name])
        provider = CountingProvider()
        sender = Sender(watched, Channels(provider, provider), NotificationSettings(), lambda: NOW)
        yield WatchedSender(client, watched, sender, provider, seen)
    finally:
        await client.close()


async def test_a_batch_of_due_notifications_costs_one_read_one_claim_and_one_record(
    infra: Infra, mongo
):
    repo, _ = await queued(mongo, 20)
    async with watched_sender(infra, repo) as watched:
        assert await watched.sender.send_due() == 20
    assert sum(watched.provider.calls.values()) == 20
    # was 41: the due read, then a claim and a record for each notification
    assert watched.commands("find", "update") == ["find", "update", "update"]


async def test_a_notification_queued_claimed_by_the_sender_is_sent_with_one_write_and_no_read(
    infra: Infra, mongo
):
    repo, _ = await queued(mongo, 0)
    user = UserRegistered(
        username="u", first_name="A", last_name="B", email="a@ex.ru", phone="+7900"
    )
    n = greeting(user, uuid.uuid4(), NOW)
    async with watched_sender(infra, repo) as watched:
        sender = watched.sender
        async with watched.client.start_session() as session:
            assert await watched.repo.add(n, session, sender.claim_fields(NOW))
        assert await sender.send_due() == 0  # claimed: no other attempt takes it meanwhile
        watched.seen.names.clear()
        sender.take(n)  # its transaction committed
        assert await sender.send_held() == 1
    assert watched.provider.calls == Counter({n.id: 1})
    doc = await repo.collection.find_one({"_id": n.id})
    assert doc is not None
    assert (doc["status"], doc["attempts"]) == ("SENT", 1)
    assert "claim" not in doc and "dueAt" not in doc
    # was a due read, a claim and a record once the sender's next poll came
    assert watched.commands("find", "update") == ["update"]
