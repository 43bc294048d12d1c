"""A service: its settings, database, broker, outbox relay, consumers, HTTP routes and
background loops, wired together. `app.py` of each service builds one of these."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from aiokafka import ConsumerRecord
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.topics import Topic, consumer_group, inbox_namespace
from servicekit import faults, inbox, migrations
from servicekit.broker import FetchPace, make_broker, prompt, subscriber_options
from servicekit.consumer import Consumer, Handler, Prefetch, apply_together
from servicekit.http import Routes
from servicekit.identity import AuthClient
from servicekit.lease import COLLECTION as LEASES
from servicekit.lease import Lease, replica_id, while_held
from servicekit.metrics import Metrics, fetched_at
from servicekit.mongo import Mongo
from servicekit.outbox import COLLECTION as OUTBOX
from servicekit.outbox import PUBLISHED_AT, Outbox
from servicekit.settings import ServiceSettings
from servicekit.unit import Tx

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Startup = Callable[["Service"], Awaitable[None]]
Loop = Callable[["Service"], Awaitable[None]]


class Service:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.name = settings.service_name
        self.metrics = Metrics(self.name)
        self.mongo = Mongo(
            settings.mongo_url,
            settings.database,
            settings.mongo_timeout_seconds,
            settings.mongo_credentials,
        )
        self.db = self.mongo.db
        self.broker = make_broker(settings)
        self.replica = replica_id()
        self.outbox = Outbox(
            self.db[OUTBOX],
            self._publish,
            settings.outbox_poll_seconds,
            settings.outbox_batch,
            self.lease("outbox-relay") if settings.replicas > 1 else None,
            lambda topic, seconds: self.metrics.hop(topic, "commit_to_publish", seconds),
        )
        self.routes = Routes()
        self.auth = AuthClient(settings.auth_url)
        self.steps: list[migrations.Step] = []
        self.step("servicekit-inbox-indexes-v1")(_inbox_indexes)
        self.startup: list[Startup] = []
        self.loops: list[Loop] = []
        # called after every transaction of this process commits (a sweeper's Pace.nudge)
        self.after_commit: list[Callable[[], None]] = []
        self.shutdown: list[Callable[[], Awaitable[None]]] = [self.auth.close]
        self.consumers: dict[str, Consumer[Any]] = {}
        self._declared = False
        self.ready = asyncio.Event()
        self.failed: str | None = None  # why the start-up gave up (servicekit.runner)
        faults.arm(settings.faults)

    # -- writing -------------------------------------------------------------------------
    async def transaction(
        self, fn: Callable[[Tx], Awaitable[T]], cause: Envelope | None = None
    ) -> T:
        """Run `fn(tx)` in one database transaction together with the outbox messages it
        emits; wake the relay once it has committed."""

        async def callback(session: Any) -> tuple[T, Tx]:
            tx = Tx(session=session, db=self.db, cause=cause)
            result = await fn(tx)
            await self.outbox.add(session, tx.outgoing)
            faults.point("tx.before_commit")
            return result, tx

        try:
            result, tx = await self.mongo.transaction(callback)
        except BaseException:
            self.outbox.reread()  # a commit that failed late may have committed after all
            raise
        self.metrics.transactions.inc()
        faults.point("outbox.after_commit")
        if tx.outgoing:
            self.metrics.outbox_messages.inc(len(tx.outgoing))
            self.outbox.wake(tx.outgoing)
        for fn_after in (*tx.committed, *self.after_commit):
            fn_after()
        return result

    async def _publish(
        self, topic: str, body: bytes, key: bytes | None, headers: dict[str, str]
    ) -> Awaitable[Any]:
        return await self.broker.publish(
            body,
            topic=topic,
            key=key,
            headers=headers,
            correlation_id=headers.get("correlation_id"),
            no_confirm=True,
        )

    # -- reading the bus -----------------------------------------------------------------
    def subscribe(
        self, topic: Topic, model: type[M], prefetch: Prefetch[M] | None = None
    ) -> Callable[[Handler[M]], Handler[M]]:
        """Register `handler(message, tx)` for `topic`; it runs once per message_id, in one
        transaction with the messages it emits. `prefetch(messages, session)`, when given,
        reads what a batch of these messages' handlers will read, in one go (see
        servicekit.unit.preload)."""

        def register(handler: Handler[M]) -> Handler[M]:
            if topic.name in self.consumers:
                raise ValueError(f"{self.name} already handles {topic.name}")
            namespace = inbox_namespace(self.name, topic)
            self.consumers[topic.name] = Consumer(self, topic, model, handler, namespace, prefetch)
            return handler

        return register

    def declare_subscriber(self) -> None:
        """One FastStream subscriber (one Kafka consumer, one group) for every topic the
        service handles, called once before the broker starts. It takes records in batches
        and runs the records of different keys (different aggregates) concurrently, those of
        one key in order; the batch is committed when all of them are done."""
        if self._declared or not self.consumers:
            return
        self._declared = True
        consumers = self.consumers

        async def lane(records: list[ConsumerRecord]) -> None:
            for record in records:
                await consumers[record.topic](record)

        async def on_batch(message: KafkaMessage) -> None:
            records: list[ConsumerRecord] = list(message.raw_message)
            # the batch's arrival, for each record's fetch -> commit (Metrics.observe_message)
            fetched_at.set(published_to_fetched(self.metrics, records))
            if len(records) > 1 and self.settings.batch_transactions:
                records = await apply_together(self, consumers, records)
            lanes: dict[object, list[ConsumerRecord]] = {}
            for record in records:
                by = record.key if record.key is not None else (record.topic, record.partition)
                lanes.setdefault(by, []).append(record)
            await asyncio.gather(*(lane(records) for records in lanes.values()))

        options = subscriber_options(self.settings, consumer_group(self.name))
        subscriber = self.broker.subscriber(*consumers, **options)
        prompt(subscriber, FetchPace.of(self.settings))(on_batch)

    def step(self, step_id: str) -> Callable[[Startup], Startup]:
        """A versioned startup step (servicekit.migrations): it runs once per database, in the
        order declared, before the `on_startup` functions. Released steps never change: an
        index added or changed is a new step."""

        def register(fn: Startup) -> Startup:
            self.steps.append(migrations.Step(step_id, lambda: fn(self)))
            return fn

        return register

    def on_startup(self, fn: Startup) -> Startup:
        """Run at every start once the database answers and the steps are applied (seed data,
        caches), before consuming starts."""
        self.startup.append(fn)
        return fn

    def loop(self, fn: Loop, *, claims_its_work: bool = False) -> Loop:
        """A background loop (sweeper) that runs while the service is ready. With several
        replicas it runs in one of them at a time, under a lease in the database, unless it
        `claims_its_work`: claims each item with a conditional write, so it may run in all."""
        if self.settings.replicas > 1 and not claims_its_work:
            lease = self.lease(f"loop:{fn.__qualname__}")

            async def leased(service: Service) -> None:
                await while_held(lease, lambda: fn(service))

            leased.__name__ = fn.__name__
            self.loops.append(leased)
        else:
            self.loops.append(fn)
        return fn

    def lease(self, name: str) -> Lease:
        """A lease among this service's replicas (servicekit.lease)."""
        return Lease(self.db[LEASES], name, self.replica, self.settings.lease_seconds)

    async def check_ready(self) -> dict[str, bool]:
        db_ok, broker_ok = await asyncio.gather(self.mongo.ping(), self._broker_ping())
        return {"database": db_ok, "broker": broker_ok, "started": self.ready.is_set()}

    async def _broker_ping(self) -> bool:
        try:
            return bool(await self.broker.ping(timeout=1.0))
        except Exception:
            return False


def published_to_fetched(metrics: Metrics, records: list[ConsumerRecord]) -> float:
    """Now (time.time()), the moment a batch reached the handler; each record that carries the
    relay's PUBLISHED_AT header counts the time since as its publish -> fetch part."""
    now = time.time()
    for record in records:
        for name, value in record.headers or ():
            if name == PUBLISHED_AT:
                with contextlib.suppress(ValueError):
                    sent = datetime.fromisoformat(value.decode()).timestamp()
                    metrics.hop(record.topic, "publish_to_fetch", now - sent)
    return now


async def _inbox_indexes(service: Service) -> None:
    await inbox.ensure_indexes(service.db[inbox.COLLECTION])
