"""FastStream Kafka broker factory and the consumer settings every subscriber uses."""

from __future__ import annotations

from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from servicekit.settings import ServiceSettings


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    # No idempotent producer and no Kafka transactions: the embedded broker lacks them, and
    # consumers dedupe by message_id anyway (DESIGN.md).
    return KafkaBroker(
        settings.kafka_bootstrap,
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
        # the embedded broker answers a parked fetch only when its wait runs out: a short
        # wait makes a hop cost tens of milliseconds instead of aiokafka's default 500 ms
        "fetch_max_wait_ms": settings.kafka_fetch_wait_ms,
        "batch": True,
        "max_records": settings.consumer_batch,
        "batch_timeout_ms": settings.kafka_fetch_wait_ms,
    }
