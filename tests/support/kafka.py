"""Talking to the broker from tests the way a neighbour system would."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from launcher.embedded import create_topics


def unique_topic(prefix: str) -> str:
    return f"test.{prefix}.{uuid.uuid4().hex[:10]}"


async def make_topics(bootstrap: str, *names: str) -> None:
    await create_topics(bootstrap, [n for name in names for n in (name, name + ".dlq")])


async def publish(
    bootstrap: str,
    topic: str,
    body: dict[str, Any] | bytes,
    key: str = "k",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    message_id = message_id or str(uuid.uuid4())
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"message_id": message_id, "correlation_id": key, **(headers or {})}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, raw, key=key.encode(), headers=[(k, v.encode()) for k, v in all_headers.items()]
        )
    finally:
        await producer.stop()
    return message_id


async def read_topic(
    bootstrap: str, topic: str, expect: int, timeout: float = 20.0
) -> list[ConsumerRecord]:
    """Every record on `topic` from the beginning, waiting until `expect` have arrived (or the
    timeout passes), then a short while longer to catch extras."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                records.extend(part)
            if len(records) >= expect:
                deadline = min(deadline, time.monotonic() + 1.0)
        return records
    finally:
        await consumer.stop()


def header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode()
    return None


async def eventually(check: Any, timeout: float = 20.0, interval: float = 0.2) -> Any:
    """Poll an async `check()` until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


async def publish_all(
    bootstrap: str, topic: str, messages: list[tuple[str, dict[str, Any], str]]
) -> None:
    """Publish (key, body, message_id) triples in one go, so a consumer fetches them as one
    batch."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
    await producer.start()
    try:
        sent = [
            await producer.send(
                topic,
                json.dumps(body).encode(),
                key=key.encode(),
                headers=[("message_id", mid.encode()), ("correlation_id", key.encode())],
            )
            for key, body, mid in messages
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
