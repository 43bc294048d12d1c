"""Helpers for the tests of what a registration causes: users, their `UserRegistered` events,
the notification process and what its logging adapters wrote."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

from launcher.processes import ServiceProcess
from schemas import topics
from tests.conftest import SpawnService
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish

BILLING, NOTIFICATION = "billing_svc", "notification_svc"


def new_user() -> dict[str, str]:
    """A `UserRegistered` body with a username and phone of its own."""
    username = f"u{uuid.uuid4().hex[:12]}"
    return {
        "username": username,
        "firstName": "Ivan",
        "lastName": "Petrov",
        "email": f"{username}@example.com",
        "phone": "+7" + "".join(random.choices("0123456789", k=10)),
    }


async def register(infra: Infra, user: dict[str, str], message_id: str | None = None) -> str:
    """Publish the user's registration as auth_svc would; returns the message_id."""
    topic = topics.USER_REGISTERED.name
    return await publish(
        infra.kafka_bootstrap, topic, user, key=user["username"], message_id=message_id
    )


def start_notification(
    spawn: SpawnService, outbox: Path, auth_url: str = "", **overrides: str
) -> ServiceProcess:
    """notification_svc writing what it sends under `outbox`, with a short send lease so a
    crashed sender's claim runs out quickly."""
    env = {"SAGASHOP_OUTBOX_DIR": str(outbox), "SAGASHOP_SEND_LEASE_SECONDS": "2"}
    if auth_url:
        env["SAGASHOP_AUTH_URL"] = auth_url
    return spawn(NOTIFICATION, env=env, **overrides)


def sent(outbox: Path, channel: str = "sms") -> list[dict[str, Any]]:
    """Every complete line the logging adapter has written for `channel`."""
    path = outbox / f"{channel}.jsonl"
    lines = path.read_text().split("\n")[:-1] if path.exists() else []
    return [json.loads(line) for line in lines]


def sent_to(outbox: Path, address: str, channel: str = "sms") -> list[dict[str, Any]]:
    return [line for line in sent(outbox, channel) if line["to"] == address]


async def sent_greeting(mongo: Any, proc: ServiceProcess, username: str) -> dict[str, Any]:
    """The user's greeting notification, once it is recorded as sent."""
    query = {"username": username, "kind": "registration", "status": "SENT"}
    doc: dict[str, Any] = await eventually(lambda: mongo[proc.name].notifications.find_one(query))
    return doc
