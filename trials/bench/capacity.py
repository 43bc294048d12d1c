"""The raw capacity of the infrastructure, measured with the clients the services use
(aiokafka, PyMongo's async client) at the bench's concurrency levels, before any load:
broker produce->consume messages/s on a scratch topic, database single-document writes/s and
two-write transactions/s on a scratch database."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from launcher.embedded import create_topics
from schemas import topics

SCRATCH_DB = "bench_scratch"
# about the size of a saga message and its envelope headers
BODY = b'{"orderId": "%s", "requestType": "CONFIRM", "pad": "' + b"x" * 300 + b'"}'
HEADERS = [
    (k, uuid.uuid4().hex.encode())
    for k in ("message_id", "correlation_id", "causation_id", "type", "schema_version")
]
DOC = {"orderId": "", "status": "NEW", "items": [{"productId": 1, "quantity": 1}], "pad": "x" * 200}


@dataclass
class Capacity:
    level: int
    broker_msgs_per_s: float
    db_inserts_per_s: float
    db_transactions_per_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def closed_loop(level: int, seconds: float, op: Callable[[], Awaitable[None]]) -> float:
    """`level` tasks repeat `op` for `seconds`; operations completed per second."""
    done = 0
    start = time.monotonic()
    stop_at = start + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < stop_at:
            await op()
            done += 1

    await asyncio.gather(*(worker() for _ in range(level)))
    return done / (time.monotonic() - start)


class BrokerProbe:
    """Producers (acks=all, as the services' relay) into a scratch topic, one consumer
    reading it back; the rate counts a message once it has been consumed."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.topic = f"bench.scratch-{uuid.uuid4().hex[:8]}"
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=False
        )
        # a short fetch wait, or the last batch of a probe would wait out a parked fetch
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,
        )
        self.consumed = 0
        self.last_consumed = 0.0
        self.wanted = 0
        self.caught_up = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await create_topics(self.bootstrap, [self.topic])
        await self.producer.start()
        await self.consumer.start()
        self.consumer.assign([TopicPartition(self.topic, p) for p in range(topics.PARTITIONS)])
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200, max_records=2000)
            n = sum(len(records) for records in batch.values())
            if n:
                self.consumed += n
                self.last_consumed = time.monotonic()
            if self.consumed >= self.wanted:
                self.caught_up.set()

    async def rate(self, level: int, seconds: float) -> float:
        base, produced = self.consumed, 0
        start = time.monotonic()

        async def send() -> None:
            nonlocal produced
            key = uuid.uuid4().hex.encode()
            await self.producer.send_and_wait(
                self.topic, BODY.replace(b"%s", key), key=key, headers=HEADERS
            )
            produced += 1

        await closed_loop(level, seconds, send)
        self.wanted = base + produced
        self.caught_up.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.caught_up.wait(), 15)
        return (self.consumed - base) / max(self.last_consumed - start, 1e-9)

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.consumer.stop()
        await self.producer.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        with contextlib.suppress(Exception):
            await admin.start()
            await admin.delete_topics([self.topic])
        with contextlib.suppress(Exception):
            await admin.close()


async def insert_rate(
    client: AsyncMongoClient[dict[str, Any]], level: int, seconds: float
) -> float:
    coll = client[SCRATCH_DB].inserts

    async def insert() -> None:
        await coll.insert_one(dict(DOC))

    return await closed_loop(level, seconds, insert)


async def transaction_rate(
    client: AsyncMongoClient[dict[str, Any]], level: int, seconds: float
) -> float:
    """`with_transaction` inserting two documents into two collections, one session per
    task, as the services' state change + outbox write."""
    db = client[SCRATCH_DB]

    async def two_writes(session: AsyncClientSession) -> None:
        await db.state.insert_one(dict(DOC), session=session)
        await db.outbox.insert_one(dict(DOC), session=session)

    sessions: list[AsyncClientSession] = []
    for _ in range(level):
        sessions.append(client.start_session())
    free = list(sessions)

    async def transaction() -> None:
        session = free.pop()
        try:
            await session.with_transaction(two_writes)
        finally:
            free.append(session)

    try:
        return await closed_loop(level, seconds, transaction)
    finally:
        for session in sessions:
            await session.end_session()


async def measure(
    kafka: str,
    mongo: str,
    levels: list[int],
    seconds: float,
    tick: Callable[[str], None] = lambda _: None,
) -> dict[int, Capacity]:
    """Every probe at every level, one after the other; scratch topic and database dropped."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo)
    broker = BrokerProbe(kafka)
    await broker.start()
    found: dict[int, Capacity] = {}
    try:
        for level in levels:
            tick(f"capacity N={level}: broker")
            msgs = await broker.rate(level, seconds)
            tick(f"capacity N={level}: database inserts")
            inserts = await insert_rate(client, level, seconds)
            tick(f"capacity N={level}: database transactions")
            txs = await transaction_rate(client, level, seconds)
            found[level] = Capacity(level, round(msgs, 1), round(inserts, 1), round(txs, 1))
    finally:
        await broker.stop()
        with contextlib.suppress(Exception):
            await client.drop_database(SCRATCH_DB)
        await client.close()
    return found
