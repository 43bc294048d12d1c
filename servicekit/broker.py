"""FastStream Kafka broker factory and the consumer settings every subscriber uses."""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import chain
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.helpers import create_ssl_context
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from servicekit.settings import ServiceSettings

_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def kafka_security(settings: ServiceSettings) -> BaseSecurity | None:
    """FastStream's form of the `kafka_security_protocol` and `kafka_sasl_*` settings."""
    protocol = settings.kafka_security_protocol
    tls = protocol in ("SSL", "SASL_SSL")
    context = create_ssl_context(cafile=settings.kafka_ssl_cafile) if tls else None
    if protocol.startswith("SASL_"):
        sasl = _SASL[settings.kafka_sasl_mechanism]
        password = settings.kafka_sasl_password.get_secret_value()
        return sasl(settings.kafka_sasl_username, password, ssl_context=context, use_ssl=tls)
    return BaseSecurity(ssl_context=context, use_ssl=True) if tls else None


def kafka_client_options(settings: ServiceSettings) -> dict[str, Any]:
    """The same settings as aiokafka keyword arguments (for an admin client or a producer
    made outside a broker); nothing for the plaintext default."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    # No idempotent producer and no Kafka transactions: the embedded broker lacks them, and
    # consumers dedupe by message_id anyway (DESIGN.md).
    return KafkaBroker(
        settings.kafka_bootstrap,
        security=kafka_security(settings),
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=10_000,
        logger=None,
    )


def subscriber_options(settings: ServiceSettings, group_id: str) -> dict[str, Any]:
    """Commit only after the handler has finished (ACK); the handler never raises, it retries
    transient errors and dead-letters the rest itself. Records come in batches (a commit per
    record caps a consumer at a few hundred records/s)."""
    return {
        "group_id": group_id,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.ACK,
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka_heartbeat_interval_ms,
        # the embedded broker answers a parked fetch only at its next look (settings.py,
        # docs/embedded-broker.md): a short wait makes a hop cost milliseconds, not the 500 ms
        # aiokafka's default park could add
        "fetch_max_wait_ms": settings.kafka_fetch_wait_ms,
        "batch": True,
        "max_records": settings.consumer_batch,
        # how long one poll waits when nothing comes (records end it at once): see PromptBatch
        "batch_timeout_ms": settings.kafka_poll_ms,
    }


@dataclass
class FetchPace:
    """The broker's fetch wait, short while records come and long when none do.

    The embedded broker answers a parked fetch only at its next look (W/2, 3W/4, ... of the
    wait W), so a record produced into a park waits W/6 on average: with W = 100 ms that is
    most of a hop at one order in flight, and with W = 20 ms an idle shop's parks cost the
    broker five times the looks. So a consumer parks for `active_ms` while it is busy (a poll
    brought records less than `active_seconds` ago) and for `idle_ms` otherwise. The first
    record after a quiet spell meets an `idle_ms` park, as it did with one fixed wait; the
    records after it (the next hops of the same orders) meet short ones.

    aiokafka reads the wait from its fetcher (`Fetcher._fetch_max_wait_ms`) for every fetch
    request it builds and has no public setter; the unit tests fail if that changes."""

    idle_ms: int
    active_ms: int
    active_seconds: float
    last_records: float = float("-inf")
    current_ms: int | None = None

    @classmethod
    def of(cls, settings: ServiceSettings) -> FetchPace | None:
        if settings.kafka_fetch_wait_active_ms >= settings.kafka_fetch_wait_ms:
            return None
        return cls(
            settings.kafka_fetch_wait_ms,
            settings.kafka_fetch_wait_active_ms,
            settings.kafka_active_seconds,
        )

    def after_poll(self, consumer: AIOKafkaConsumer, fetched: bool) -> None:
        """Called as a poll returns, before the fetcher builds its next request."""
        now = time.monotonic()
        if fetched:
            self.last_records = now
        busy = now - self.last_records < self.active_seconds
        wanted = self.active_ms if busy else self.idle_ms
        if wanted != self.current_ms:
            fetcher = consumer._fetcher  # no public setter (docstring)
            if fetcher is not None:
                fetcher._fetch_max_wait_ms = wanted
                self.current_ms = wanted


class PromptBatchSubscriber(BatchSubscriber):
    """FastStream's batch subscriber without its pause after an empty poll.

    FastStream 0.7's `BatchSubscriber.get_msg` sleeps `batch_timeout_ms` after a poll that
    returned nothing, and a record fetched during that sleep waits for it; so the poll had to
    be short (10 ms: ~100 wake-ups a second per idle service, a few % of a core each) to keep
    that wait small. aiokafka's `getmany(timeout_ms=...)` already returns the moment the
    fetcher brings records in (it waits on the fetcher, not a clock), so without the pause a
    long poll costs no latency: an idle service wakes `1000 / kafka_poll_ms` times a second,
    and a record is handed over as soon as it is fetched."""

    fetch_pace: FetchPace | None = None

    async def get_msg(self, consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord, ...]:
        records = await consumer.getmany(
            timeout_ms=self.batch_timeout_ms, max_records=self.max_records
        )
        if self.fetch_pace is not None:
            self.fetch_pace.after_poll(consumer, bool(records))
        return tuple(chain(*records.values()))


def prompt(subscriber: Any, pace: FetchPace | None = None) -> PromptBatchSubscriber:
    """The batch subscriber `broker.subscriber(..., batch=True)` made, as a
    PromptBatchSubscriber (same object, same state: only `get_msg` differs), pacing its
    fetches with `pace` when given."""
    if not isinstance(subscriber, BatchSubscriber):
        raise TypeError(f"not a FastStream batch subscriber: {subscriber!r}")
    subscriber.__class__ = PromptBatchSubscriber
    made = cast(PromptBatchSubscriber, subscriber)
    made.fetch_pace = pace
    return made
