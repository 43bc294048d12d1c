"""The bank simulator's doors (issue #15, item 8), in-process: which token each route needs,
the bounds on its delays, and payment_svc's HttpBank sending the shop's token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from payment_svc.adapters import BankRefused, HttpBank
from payment_svc.bank_access import MAX_HANG_SECONDS, MAX_LATENCY_MS, BankTokens
from payment_svc.bank_ledger import Ledger
from payment_svc.bank_rules import Bank
from payment_svc.bank_sim import build_app
from schemas.payment_http import BankConfig, CardDetails

CLIENT, ADMIN = "shop-token", "operator-token"
CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2099, "cvc": "123"}


@pytest.fixture
async def bank(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    sim = Bank(Ledger(tmp_path / "ledger.jsonl"), BankConfig())
    app = build_app(sim, tokens=BankTokens(client=CLIENT, admin=ADMIN))
    async with TestClient(TestServer(app)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.mark.parametrize("token", ["", CLIENT, "Bearer", ADMIN + "x"])
async def test_the_config_and_ledger_refuse_anyone_without_the_admin_token(
    bank: TestClient[Any, Any], token: str
) -> None:
    put = await bank.put("/config", json={"latencyMs": 900}, headers=bearer(token))
    assert put.status == 401 and put.headers["WWW-Authenticate"] == "Bearer"
    assert (await bank.get("/ledger", headers=bearer(token))).status == 401
    config = await (await bank.get("/config", headers=bearer(ADMIN))).json()
    assert config["latencyMs"] == 0


@pytest.mark.parametrize("token", ["", ADMIN])
async def test_cards_and_charges_refuse_anyone_without_the_client_token(
    bank: TestClient[Any, Any], token: str
) -> None:
    charge = {"idempotencyKey": "k-1", "amount": 100, "card": CARD}
    assert (await bank.post("/charges", json=charge, headers=bearer(token))).status == 401
    assert (await bank.post("/cards", json={"card": CARD}, headers=bearer(token))).status == 401
    assert (await bank.get("/charges/k-1", headers=bearer(token))).status == 401
    ledger = await (await bank.get("/ledger", headers=bearer(ADMIN))).json()
    assert ledger["charges"] == 0


async def test_the_operator_changes_the_config_within_its_bounds(
    bank: TestClient[Any, Any],
) -> None:
    admin = bearer(ADMIN)
    too_slow = [{"latencyMs": MAX_LATENCY_MS + 1}, {"hangSeconds": MAX_HANG_SECONDS + 1}]
    for change in too_slow:
        assert (await bank.put("/config", json=change, headers=admin)).status == 400
    many = {"declines": {f"+7999{n:07d}": "blocked" for n in range(1001)}}
    assert (await bank.put("/config", json=many, headers=admin)).status == 400
    ok = await bank.put("/config", json={"latencyMs": 1500, "timeoutRate": 0.2}, headers=admin)
    assert ok.status == 200 and (await ok.json())["latencyMs"] == 1500


async def test_a_qr_scan_is_the_customers_side_and_needs_no_token(
    bank: TestClient[Any, Any],
) -> None:
    resp = await bank.post("/qr/no-such-code/pay")
    assert resp.status == 404


async def test_http_bank_sends_the_shops_token_and_without_it_is_refused(
    bank: TestClient[Any, Any],
) -> None:
    card = CardDetails.model_validate(CARD)
    with_token = HttpBank(str(bank.make_url("")), timeout_seconds=2, client_token=CLIENT)
    without = HttpBank(str(bank.make_url("")), timeout_seconds=2, client_token="")
    try:
        assert (await with_token.tokenize(card)).last4 == "4242"
        with pytest.raises(BankRefused):
            await without.tokenize(card)
    finally:
        await with_token.close()
        await without.close()


async def test_http_bank_takes_the_token_from_the_environment(
    bank: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGASHOP_BANK_CLIENT_TOKEN", CLIENT)
    adapter = HttpBank(str(bank.make_url("")), timeout_seconds=2)
    try:
        assert (await adapter.tokenize(CardDetails.model_validate(CARD))).last4 == "4242"
    finally:
        await adapter.close()
