"""The bank simulator in-process for unit tests (aiohttp test server on a real port) with a
clock the test moves, and a small real HTTP server that records the bank's callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from payment_svc.bank_cards import DEFAULT_DECLINES
from payment_svc.bank_ledger import Ledger
from payment_svc.bank_notifier import CallbackSender
from payment_svc.bank_rules import Bank
from payment_svc.bank_sim import build_app
from schemas.payment_http import BankConfig

GOOD_CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2099, "cvc": "123"}
WEBHOOK_SECRET = "test-webhook-secret"
BankClient = TestClient[Any, Any]


class ManualClock:
    """Stands still until the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@contextlib.asynccontextmanager
async def bank_at(
    ledger: Path,
    rng: random.Random | None = None,
    clock: ManualClock | None = None,
    webhook_secret: str = WEBHOOK_SECRET,
    **config: Any,
) -> AsyncIterator[BankClient]:
    settings = BankConfig(declines=DEFAULT_DECLINES, **config)
    bank = Bank(Ledger(ledger), settings, rng, clock or ManualClock())
    # short pauses between callback tries keep a retried delivery quick
    callbacks = CallbackSender(webhook_secret, attempts=5, first_pause=0.05)
    async with TestClient(TestServer(build_app(bank, callbacks=callbacks))) as client:
        yield client


def charge(amount: int = 2500, key: str | None = None, **means: Any) -> dict[str, Any]:
    return {
        "idempotencyKey": key or str(uuid.uuid4()),
        "amount": amount,
        "currency": "RUB",
        **(means or {"card": GOOD_CARD}),
    }


async def post(client: BankClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    resp = await client.post(path, json=body)
    return resp.status, await resp.json()


async def get(client: BankClient, path: str) -> tuple[int, Any]:
    resp = await client.get(path)
    return resp.status, await resp.json()


async def ledger_of(client: BankClient) -> dict[str, int]:
    resp = await client.get("/ledger")
    body: dict[str, int] = await resp.json()
    return body


@dataclass
class Received:
    signature: str | None
    body: bytes


@dataclass
class CallbackReceiver:
    """Records every callback; answers 503 to the first `fail_first` of them."""

    url: str
    fail_first: int = 0
    tries: int = 0
    arrived: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)

    async def handle(self, request: web.Request) -> web.Response:
        self.tries += 1
        if self.tries <= self.fail_first:
            return web.json_response({"errorMessage": "try later"}, status=503)
        self.arrived.put_nowait(
            Received(request.headers.get("X-Bank-Signature"), await request.read())
        )
        return web.json_response({})

    async def next(self, timeout: float = 10.0) -> Received:
        return await asyncio.wait_for(self.arrived.get(), timeout)


@contextlib.asynccontextmanager
async def callback_receiver(fail_first: int = 0) -> AsyncIterator[CallbackReceiver]:
    app = web.Application()
    server = TestServer(app)
    receiver = CallbackReceiver(url="", fail_first=fail_first)
    app.router.add_post("/bank/callbacks", receiver.handle)
    await server.start_server()
    receiver.url = str(server.make_url("/bank/callbacks"))
    try:
        yield receiver
    finally:
        await server.close()


def qr_charge(
    receiver_url: str, amount: int = 2500, ttl: int = 300, **extra: Any
) -> dict[str, Any]:
    qr = {"callbackUrl": receiver_url, "ttlSeconds": ttl, "description": "order 1"}
    return charge(amount, qr=qr, **extra)
