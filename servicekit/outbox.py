"""Transactional outbox and its relay.

A state change and the messages it causes are written in ONE transaction; the relay publishes
what is in the outbox in `_id` order and then deletes what it published, in one batched write.
That delete waits for more: published messages are deleted together once `batch` of them have
gone out or the oldest went out DELETE_AFTER_SECONDS ago (then also when nothing new came), so
one delete serves many hops instead of one per hop; until then the relay's reads leave them
out. A crash between publish and delete republishes: consumers dedupe by `message_id` (inbox).
The relay is woken right after a commit in this process and also polls slowly for what a crash
left behind, so a hop costs milliseconds, not a poll interval. The commit hands the relay the
messages it wrote (`wake(docs)`): once a read of the outbox has found no backlog, the relay
publishes those in commit order without reading them back (one read per hop less) and reads
the outbox only when nothing was handed over (a poll, or a publish that failed). With a lease
(replicas) it always reads: another replica's messages are never handed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from schemas.envelope import Envelope
from schemas.topics import Topic
from servicekit.lease import Lease
from servicekit.mongo import Doc, utcnow
from servicekit.retry import is_db_unavailable, is_transient

log = logging.getLogger(__name__)
COLLECTION = "outbox"
DELETE_AFTER_SECONDS = 1.0  # the longest a published message waits for its delete

# publish(topic, body, key, headers) -> awaitable that resolves when the broker has the message
Publish = Callable[[str, bytes, bytes | None, dict[str, str]], Awaitable[Awaitable[Any]]]
# on_publish(topic, seconds from the message's outbox write to its publish): per-hop metrics
OnPublish = Callable[[str, float], None]
# the header each message carries with the moment the relay published it (wall clock, ISO 8601
# UTC with Z): its consumer measures publish -> fetch from it. Not part of the Envelope: dedupe
# is by message_id, and a message published again after a crash carries a later stamp.
PUBLISHED_AT = "published_at"


def outbox_doc(topic: Topic, body: bytes, key: str | None, envelope: Envelope) -> Doc:
    return {
        "_id": ObjectId(),
        "topic": topic.name,
        "key": key,
        "body": body,
        "headers": envelope.to_headers(),
        "created_at": utcnow(),
    }


class Outbox:
    def __init__(
        self,
        collection: AsyncCollection[Doc],
        publish: Publish,
        poll_seconds: float = 1.0,
        batch: int = 200,
        lease: Lease | None = None,
        on_publish: OnPublish | None = None,
    ) -> None:
        self.collection = collection
        self.publish = publish
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.lease = lease  # several replicas share this outbox: publish only while holding it
        self.on_publish = on_publish
        self._wake = asyncio.Event()
        self._stopping = False
        self.published = 0
        self._sent: list[ObjectId] = []  # published, not deleted yet
        self._sent_since = 0.0  # time.monotonic() when the oldest of them went out
        self._committed: list[Doc] = []  # handed over by commits, not published yet
        self._caught_up = False  # a read found no backlog: what is handed over is all there is

    async def add(self, session: AsyncClientSession, docs: list[Doc]) -> None:
        """Write messages in the caller's transaction; they go out once it commits."""
        if docs:
            await self.collection.insert_many(docs, ordered=True, session=session)

    def wake(self, committed: list[Doc] | None = None) -> None:
        """Relay now; `committed`: the messages a transaction of this process just committed."""
        if committed and self.lease is None:
            self._committed += committed
        self._wake.set()

    def reread(self) -> None:
        """Read the outbox on the next pass before trusting hand-overs again: a transaction
        whose commit failed late may have committed messages nobody handed over, and those
        go first (they are older)."""
        self._caught_up = False

    async def relay_once(self) -> int:
        """Publish one batch in order; returns how many messages went out."""
        if self._caught_up and self._committed:
            docs, self._committed = self._committed[: self.batch], self._committed[self.batch :]
            sent = set(self._sent)  # a poll may have read some of them before their hand-over
            if not (docs := [d for d in docs if d["_id"] not in sent]):
                return await self.relay_once()
        else:
            docs = await self._read()
            if not docs:
                await self.delete_sent()
                return 0
        try:
            await self._send(docs)
        except BaseException:
            self._committed[:0] = docs  # the next pass sends them first (or reads them)
            raise
        if not self._sent:
            self._sent_since = time.monotonic()
        self._sent += [d["_id"] for d in docs]
        self.published += len(docs)
        if (
            len(self._sent) >= self.batch
            or time.monotonic() - self._sent_since >= DELETE_AFTER_SECONDS
        ):
            await self.delete_sent()
        return len(docs)

    async def _read(self) -> list[Doc]:
        """The oldest unsent messages in the outbox; what was handed over and is among them
        is not handed over any more (it goes out now, in `_id` order)."""
        query = self.collection.find(self._unsent()).sort("_id", 1).limit(self.batch)
        docs = await query.to_list()
        if len(docs) < self.batch:
            self._caught_up = self.lease is None
        if self._committed and docs:
            found = {d["_id"] for d in docs}
            self._committed = [d for d in self._committed if d["_id"] not in found]
        return docs

    async def _send(self, docs: list[Doc]) -> None:
        acks, waited = [], []
        for d in docs:
            now = datetime.now(UTC)
            headers = {**d["headers"], PUBLISHED_AT: now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
            key = d["key"].encode() if d["key"] else None
            acks.append(await self.publish(d["topic"], d["body"], key, headers))
            waited.append((d["topic"], (now - d["created_at"]).total_seconds()))
        await asyncio.gather(*acks)
        if self.on_publish is not None:
            for topic, seconds in waited:
                self.on_publish(topic, seconds)

    def _unsent(self) -> Doc:
        return {"_id": {"$nin": self._sent}} if self._sent else {}

    async def delete_sent(self) -> None:
        """Delete what this relay has published, in one write."""
        if self._sent:
            await self.collection.delete_many({"_id": {"$in": self._sent}})
            self._sent = []

    async def drain(self) -> None:
        """Publish everything there is, batch after batch; with a lease, only while holding it,
        and once more for each replica that asked meanwhile."""
        lease = self.lease
        if lease is None:
            while await self.relay_once() == self.batch:
                pass
            return
        again = True
        while again:
            if await self.collection.find_one(self._unsent(), {"_id": 1}) is None:
                await self.delete_sent()
                return  # nothing to send (a poll, or the holder sent ours): no lease writes
            if not await lease.take():
                await lease.ask_again()
                if not await lease.take():  # still held: its holder passes again for us
                    return
            try:
                while await self.relay_once() == self.batch and await lease.take():
                    pass
                await self.delete_sent()  # the next holder must not send them again
            finally:
                again = await lease.give_back()

    async def run(self) -> None:
        """The relay loop: runs until cancelled or `stop()`; never dies on a transient error."""
        delay = 0.1
        while not self._stopping:
            self._wake.clear()
            try:
                await self.drain()
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                level = (
                    logging.WARNING
                    if is_transient(exc) or is_db_unavailable(exc)
                    else logging.ERROR
                )
                log.log(level, "outbox relay: %r; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            wait = self.poll_seconds
            if self._sent:  # what went out is deleted soon even when nothing wakes the relay
                wait = min(wait, self._sent_since + DELETE_AFTER_SECONDS - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, wait))

    async def flush(self, timeout: float = 5.0) -> None:
        """Publish what is left (graceful shutdown); gives up quietly after `timeout`."""
        self._stopping = True
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout):
                if self.lease is not None:
                    await self.drain()
                else:
                    while await self.relay_once():
                        pass
