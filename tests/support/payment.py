"""payment_svc with its real neighbours for integration tests: the bank simulator and
billing_svc as processes (auth_svc from the session fixture), and a customer who pays through
payment's edge and reads their wallet and gift cards from billing's."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from launcher.processes import ServiceProcess
from tests.conftest import start_service
from tests.integration.test_auth_edge import new_user
from tests.support.http import Client
from tests.support.infra import Infra

GOOD_CARD = {"number": "4242 4242 4242 4242", "expMonth": 12, "expYear": 2099, "cvc": "123"}
POOR_CARD = {**GOOD_CARD, "number": "4000000000000002"}
WEBHOOK_SECRET = "integration-webhook-secret"
# the shop's token at the bank (its config and ledger are left open here: a test that wants
# them closed starts its bank with SAGASHOP_BANK_ADMIN_TOKEN)
CLIENT_TOKEN = "integration-bank-client-token"


def start_bank(infra: Infra, **env: str) -> ServiceProcess:
    state = Path(tempfile.mkdtemp())
    return start_service(
        infra,
        "payment_svc.bank_sim",
        state,
        env={
            "SAGASHOP_BANK_STATE": str(state / "ledger.jsonl"),
            "SAGASHOP_BANK_HANG_SECONDS": "4",
            "SAGASHOP_BANK_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SAGASHOP_BANK_CLIENT_TOKEN": CLIENT_TOKEN,
            **env,
        },
    )


def start_payment(
    infra: Infra, auth: ServiceProcess, bank: ServiceProcess, order_url: str, **env: str
) -> ServiceProcess:
    return start_service(
        infra,
        "payment_svc",
        Path(tempfile.mkdtemp()),
        env={
            "SAGASHOP_BANK_URL": bank.url,
            "SAGASHOP_ORDER_URL": order_url,
            "SAGASHOP_AUTH_URL": auth.url,
            "SAGASHOP_BANK_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SAGASHOP_BANK_CLIENT_TOKEN": CLIENT_TOKEN,
            **env,
        },
    )


class Customer(Client):
    """A logged-in customer of payment_svc (and of billing_svc at `billing`)."""

    session = ""
    username = ""
    billing = ""

    async def pay(self, order_id: str, key: str | None = None, **means: Any) -> tuple[int, Any]:
        body = {"orderId": order_id, "method": "BANK_CARD", "card": GOOD_CARD, **means}
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        return await self.post("/pay", body, headers=headers)

    async def top_up(self, amount: int, key: str | None = None, **means: Any) -> tuple[int, Any]:
        body = {"amount": amount, "method": "BANK_CARD", "card": GOOD_CARD, **means}
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        return await self.post("/top-ups", body, headers=headers)

    async def wallet(self) -> dict[str, Any] | None:
        """The wallet from billing's edge; None until billing has opened it."""
        status, body = await self.get("/wallet", base=self.billing)
        if status == 404:
            return None
        assert status == 200, body
        result: dict[str, Any] = body
        return result

    async def payment(self, payment_id: str) -> dict[str, Any]:
        status, body = await self.get(f"/payments/{payment_id}")
        assert status == 200, body
        result: dict[str, Any] = body
        return result


async def logged_in(
    auth: ServiceProcess, payment: ServiceProcess, billing: str = "", **user: str
) -> Customer:
    person = {**new_user(), **user}
    c = Customer(payment.url)
    c.billing = billing
    if "password" not in user:
        assert (await c.post("/register", person, base=auth.url))[0] == 200
    creds = {"username": person["username"], "password": person["password"]}
    assert (await c.post("/login", creds, base=auth.url))[0] == 200
    c.session = c.cookie("sessionId") or ""
    c.username = person["username"]
    return c


async def bank_call(
    bank: ServiceProcess, method: str, path: str, body: Any = None, token: str = CLIENT_TOKEN
) -> Any:
    """A call to the bank as the shop (`token`: the client token; the admin token for its
    config and ledger when the bank was started with one; "" for none)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.request(method, f"{bank.url}{path}", json=body) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def ledger(bank: ServiceProcess) -> dict[str, int]:
    status, body = await bank_call(bank, "GET", "/ledger")
    assert status == 200
    result: dict[str, int] = body
    return result


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after}


async def scan(bank: ServiceProcess, qr_id: str, **body: str) -> tuple[int, Any]:
    """The customer's bank app pays (or, with `decline=...`, refuses) the QR code: it is the
    customer's side, so it has no shop token."""
    result: tuple[int, Any] = await bank_call(bank, "POST", f"/qr/{qr_id}/pay", body, token="")
    return result


async def until_final(customer: Customer, payment_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        seen = await customer.payment(payment_id)
        if seen["status"] != "PENDING" or asyncio.get_running_loop().time() > deadline:
            return seen
        await asyncio.sleep(0.2)


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
