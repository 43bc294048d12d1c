"""The billing and notification edges show callers their own wallet and notifications, with
the caller identified through a stand-in for auth_svc's `GET /auth`."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas import topics
from tests.conftest import SpawnService
from tests.support.accounts import (
    BILLING,
    new_user,
    register,
    sent_greeting,
    sent_to,
    start_notification,
)
from tests.support.fake_auth import FakeAuth, fake_auth
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "sent"


@pytest.fixture
async def auth() -> AsyncIterator[FakeAuth]:
    async with fake_auth() as running:
        yield running


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., Client]]:
    """HTTP clients, each with the `sessionId` cookie of the session it is given."""
    made: list[Client] = []

    def client(base_url: str, session: str | None = None) -> Client:
        made.append(Client(base_url))
        if session:
            made[-1].set_cookie("sessionId", session)
        return made[-1]

    yield client
    for c in made:
        await c.close()


async def test_the_wallet_edge_shows_the_callers_balance_and_refuses_callers_without_a_session(
    infra: Infra, spawn: SpawnService, mongo, auth: FakeAuth, clients: Callable[..., Client]
) -> None:
    billing = spawn(BILLING, env={"SAGASHOP_AUTH_URL": auth.url})
    await billing.wait_ready()
    user = new_user()
    await register(infra, user)
    await eventually(lambda: mongo[billing.name].wallets.find_one({"_id": user["username"]}))

    owner = clients(billing.url, auth.login(user["username"]))
    body = {"username": user["username"], "balance": 0, "currency": "RUB", "entries": []}
    assert await owner.get("/wallet") == (200, body)
    assert (await clients(billing.url).get("/wallet"))[0] == 401
    assert (await clients(billing.url, "not-a-session").get("/wallet"))[0] == 401
    stranger = clients(billing.url, auth.login(f"u{uuid.uuid4().hex[:12]}"))
    assert await stranger.get("/wallet") == (404, {"errorMessage": "wallet not found"})


async def test_the_notification_edge_shows_callers_their_own_notifications_and_no_one_elses(
    infra: Infra,
    spawn: SpawnService,
    mongo,
    outbox: Path,
    auth: FakeAuth,
    clients: Callable[..., Client],
) -> None:
    notification = start_notification(spawn, outbox, auth.url)
    await notification.wait_ready()
    alice, bob = new_user(), new_user()
    await asyncio.gather(register(infra, alice), register(infra, bob))
    greeting = await sent_greeting(mongo, notification, alice["username"])
    bobs = await sent_greeting(mongo, notification, bob["username"])
    as_alice = clients(notification.url, auth.login(alice["username"]))
    as_bob = clients(notification.url, auth.login(bob["username"]))
    as_admin = clients(notification.url, auth.login(f"a{uuid.uuid4().hex[:8]}", admin=True))

    status, page = await as_alice.get("/notifications")
    assert status == 200 and page["total"] == 1
    assert [n["id"] for n in page["items"]] == [greeting["_id"]]
    mine = page["items"][0]
    assert (mine["kind"], mine["channel"], mine["status"]) == ("registration", "sms", "SENT")
    assert mine["payload"]["promoId"] == greeting["payload"]["promoId"] and "sentAt" in mine

    path = f"/notifications/{bobs['_id']}"
    assert await as_alice.get(path) == (404, {"errorMessage": "notification not found"})
    assert (await as_bob.get(path))[1]["username"] == bob["username"]
    assert (await as_admin.get(path))[0] == 200
    assert (await clients(notification.url).get(path))[0] == 401


async def test_a_verification_code_is_emailed_with_its_secret_kept_out_of_the_api_and_logs(
    infra: Infra,
    spawn: SpawnService,
    mongo,
    outbox: Path,
    auth: FakeAuth,
    clients: Callable[..., Client],
) -> None:
    notification = start_notification(spawn, outbox, auth.url)
    await notification.wait_ready()
    user = new_user()
    await register(infra, user)
    await sent_greeting(mongo, notification, user["username"])
    secret = uuid.uuid4().hex[:12]
    await request_code(infra, user, secret)

    emails = await eventually(lambda: _emails_to(outbox, user["email"]))
    assert len(emails) == 1 and secret in emails[0]["body"]
    as_user = clients(notification.url, auth.login(user["username"]))
    status, newest = await as_user.get("/notifications?page=0&pageSize=1")
    assert status == 200 and newest["total"] == 2
    [code] = newest["items"]
    assert (code["kind"], code["channel"]) == ("verification_code", "email")
    _, older = await as_user.get("/notifications?page=1&pageSize=1")
    assert [n["kind"] for n in older["items"]] == ["registration"]

    db = mongo[notification.name]
    await eventually(lambda: _status_is(db, code["id"], "SENT"))
    status, one = await as_user.get(f"/notifications/{code['id']}")
    assert (status, one["status"]) == (200, "SENT")
    assert secret not in json.dumps(one) and secret not in json.dumps(newest)
    assert "secret" not in await db.notifications.find_one({"_id": one["id"]})
    assert secret not in notification.log_path.read_text()


async def request_code(infra: Infra, user: dict[str, str], secret: str) -> None:
    request = {
        "username": user["username"],
        "kind": "verification_code",
        "channel": "email",
        "userEmail": user["email"],
        "secret": secret,
        "expiresAt": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
    }
    topic = topics.AUTH_NOTIFICATIONS.name
    await publish(infra.kafka_bootstrap, topic, request, key=user["username"])


async def _emails_to(outbox: Path, address: str) -> list[dict[str, Any]]:
    return sent_to(outbox, address, "email")


async def _status_is(db, notification_id: str, status: str) -> bool:
    return await db.notifications.count_documents({"_id": notification_id, "status": status}) == 1
