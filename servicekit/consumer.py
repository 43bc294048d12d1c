"""The consumer wrapper: validate, apply in one transaction with the inbox, retry what is
transient, dead-letter the rest, and only then let FastStream commit the offset.

Deviation from DESIGN.md worth naming: a database that cannot be reached is not a reason to
dead-letter a message. The handler waits for the database (the partition pauses, /ready says
why) instead of moving good messages to the DLQ during an outage; a message that fails in
any other way is retried `handler_attempts` times when transient, then dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aiokafka import ConsumerRecord
from pydantic import BaseModel, ValidationError
from pymongo.asynchronous.client_session import AsyncClientSession

from schemas.envelope import Envelope
from schemas.topics import Topic
from servicekit import inbox
from servicekit.logging import correlation_id
from servicekit.retry import is_db_unavailable, is_transient
from servicekit.unit import Tx, batch_unit

if TYPE_CHECKING:
    from servicekit.service import Service

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
Handler = Callable[[M, Tx], Awaitable[None]]
# reads, in one go, what the handlers of a batch of these messages will read (unit.preload)
Prefetch = Callable[[list[M], AsyncClientSession], Awaitable[None]]


def envelope_of(record: ConsumerRecord) -> Envelope:
    """The message metadata; a message without an id gets one derived from its position, so
    a redelivery of it still dedupes."""
    env = Envelope.from_headers(record.headers or ())
    raw = dict(record.headers or ())
    if b"message_id" not in raw.values() and "message_id" not in raw:
        env = env.model_copy(
            update={"message_id": f"{record.topic}:{record.partition}:{record.offset}"}
        )
    return env


def validation_reason(exc: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]
    return "; ".join(parts)[:1000]


class Consumer(Generic[M]):
    def __init__(
        self,
        service: Service,
        topic: Topic,
        model: type[M],
        handler: Handler[M],
        group: str,
        prefetch: Prefetch[M] | None = None,
    ) -> None:
        self.service = service
        self.topic = topic
        self.model = model
        self.handler = handler
        self.group = group
        self.prefetch = prefetch

    def parse(self, record: ConsumerRecord) -> M | None:
        """The record's message, or None when it is not valid (the per-record path
        dead-letters it)."""
        try:
            return self.model.model_validate_json(record.value or b"")
        except ValidationError:
            return None

    async def __call__(self, record: ConsumerRecord) -> None:
        env = envelope_of(record)
        token = correlation_id.set(env.correlation_id)
        started = time.perf_counter()
        outcome = "ok"
        try:
            try:
                message = self.model.model_validate_json(record.value or b"")
            except ValidationError as exc:
                outcome = "dlq"
                await self.dead_letter(record, "validation", validation_reason(exc))
                return
            outcome = await self.apply(record, env, message)
        finally:
            self.service.metrics.observe_message(self.topic.name, outcome, started)
            correlation_id.reset(token)

    async def apply(self, record: ConsumerRecord, env: Envelope, message: M) -> str:
        attempts = self.service.settings.handler_attempts
        failures, delay = 0, 0.05
        while True:
            try:
                await self.service.transaction(self._in_tx(env, message), cause=env)
                return "ok"
            except inbox.AlreadyHandled:
                log.info("duplicate %s on %s skipped", env.message_id, self.topic.name)
                return "duplicate"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_db_unavailable(exc):
                    log.warning("waiting for the database to apply %s: %r", env.message_id, exc)
                else:
                    failures += 1
                    if not is_transient(exc) or failures >= attempts:
                        log.exception("handler failed on %s; dead-lettering", env.message_id)
                        await self.dead_letter(record, "handler", repr(exc)[:1000])
                        return "dlq"
                    log.warning("transient failure %d/%d: %r", failures, attempts, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _in_tx(self, env: Envelope, message: M) -> Callable[[Tx], Awaitable[None]]:
        async def run(tx: Tx) -> None:
            if inbox.needs_claim(self.handler):
                await inbox.claim(tx.db[inbox.COLLECTION], tx.session, self.group, env.message_id)
            await self.handler(message, tx)

        return run

    async def dead_letter(self, record: ConsumerRecord, kind: str, reason: str) -> None:
        """Publish the message as it came to `<topic>.dlq` with the error in its headers; keep
        trying until the broker takes it (the offset is committed only after that)."""
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        headers.update(
            dlq_kind=kind,
            dlq_reason=reason,
            dlq_consumer=self.group,
            dlq_source=f"{record.topic}:{record.partition}:{record.offset}",
        )
        log.error("dead-lettering %s: %s", headers["dlq_source"], reason)
        delay = 0.1
        while True:
            try:
                await self.service.broker.publish(
                    record.value, topic=self.topic.dlq, key=record.key, headers=headers
                )
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("DLQ publish failed: %r; retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


Parsed = tuple["Consumer[Any]", ConsumerRecord, Envelope, BaseModel]


async def apply_together(
    service: Service, consumers: dict[str, Consumer[Any]], records: list[ConsumerRecord]
) -> list[ConsumerRecord]:
    """Apply the valid records of a batch in ONE transaction: one inbox write for all of them,
    their handlers in batch order (so each key's records in order), one outbox write, one
    commit. Returns what is left to apply one by one, with the per-record retries and
    dead-lettering: the invalid records and repeats of a message id — or every record, with
    nothing applied, when one of them was handled before (a redelivery) or a handler failed."""
    items: list[Parsed] = []
    seen: set[tuple[str, str]] = set()
    for record in records:
        consumer, env = consumers[record.topic], envelope_of(record)
        parsed = consumer.parse(record)
        if parsed is not None and (consumer.group, env.message_id) not in seen:
            seen.add((consumer.group, env.message_id))
            items.append((consumer, record, env, parsed))
    if len(items) < 2:
        return records
    started = time.perf_counter()

    async def run(tx: Tx) -> None:
        claims = [
            (consumer.group, env.message_id)
            for consumer, _, env, _ in items
            if inbox.needs_claim(consumer.handler)
        ]
        if claims:
            await inbox.claim_many(tx.db[inbox.COLLECTION], tx.session, claims)
        async with batch_unit(tx.session):
            by_consumer: dict[str, tuple[Consumer[Any], list[BaseModel]]] = {}
            for consumer, _, _, message in items:
                by_consumer.setdefault(consumer.group, (consumer, []))[1].append(message)
            for consumer, messages in by_consumer.values():
                if consumer.prefetch is not None:
                    await consumer.prefetch(messages, tx.session)
            for consumer, _, env, message in items:
                one = Tx(session=tx.session, db=tx.db, cause=env)
                await consumer.handler(message, one)
                tx.outgoing.extend(one.outgoing)
                tx.committed.extend(one.committed)

    try:
        await service.transaction(run)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.info("batch of %d applied one by one instead: %r", len(items), exc)
        return records
    for consumer, _, _, _ in items:
        service.metrics.observe_message(consumer.topic.name, "ok", started, len(items))
    done = {id(record) for _, record, _, _ in items}
    return [r for r in records if id(r) not in done]
