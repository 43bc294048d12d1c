"""The holes issue #15 found at the edges, tried as an attacker would against real processes on
the real broker and database: integers that answered 500 (item 9), bodies read as JSON whatever
their Content-Type (7), an Idempotency-Key replayed for another body (12), stock counted in a
warehouse that does not exist (13), and the bank simulator open to anyone who reaches it (8)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from launcher.processes import ServiceProcess
from tests.conftest import start_service
from tests.support.gift_card_orders import GIFT
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually
from tests.support.payment import bank_call, start_bank
from tests.support.store import (
    card_of,
    feed_product,
    feed_stock,
    logged_in,
    make_admin,
    product,
    unique_id,
)

HUGE = 10**20  # past BSON's 8-byte integers
ADMIN_TOKEN, CLIENT_TOKEN = "edge-holes-admin-token", "edge-holes-client-token"


async def started(proc: ServiceProcess) -> ServiceProcess:
    await proc.wait_ready()
    return proc


@pytest.fixture(scope="module")
async def store(infra: Infra, auth: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    env = {"SAGASHOP_AUTH_URL": auth.url}
    proc = await started(start_service(infra, "store_svc", Path(tempfile.mkdtemp()), env=env))
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def order_svc(
    infra: Infra, auth: ServiceProcess, store: ServiceProcess
) -> AsyncIterator[ServiceProcess]:
    env = {"SAGASHOP_AUTH_URL": auth.url, "SAGASHOP_STORE_URL": store.url}
    proc = await started(start_service(infra, "order_svc", Path(tempfile.mkdtemp()), env=env))
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def delivery(infra: Infra, auth: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    env = {"SAGASHOP_AUTH_URL": auth.url}
    proc = await started(start_service(infra, "delivery_svc", Path(tempfile.mkdtemp()), env=env))
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def bank(infra: Infra) -> AsyncIterator[ServiceProcess]:
    """The simulator as the launcher starts it: both tokens set."""
    tokens = {"SAGASHOP_BANK_ADMIN_TOKEN": ADMIN_TOKEN, "SAGASHOP_BANK_CLIENT_TOKEN": CLIENT_TOKEN}
    proc = await started(start_bank(infra, **tokens))
    yield proc
    proc.kill()


@pytest.fixture
async def admin(auth: ServiceProcess, store: ServiceProcess, mongo: Any) -> AsyncIterator[Client]:
    client, username = await logged_in(auth, store.url)
    await make_admin(mongo, auth, username)
    yield client
    await client.close()


@pytest.fixture
async def shopper(auth: ServiceProcess, store: ServiceProcess) -> AsyncIterator[Client]:
    client, _ = await logged_in(auth, store.url)
    yield client
    await client.close()


async def new_product(infra: Infra, guest: Client) -> int:
    pid = unique_id()
    await feed_product(infra.kafka_bootstrap, product(pid, f"Кружка {uuid.uuid4().hex[:6]}"))
    await card_of(guest, pid)
    return pid


def refused(answer: tuple[int, Any], status: int = 400) -> bool:
    code, body = answer
    return code == status and isinstance(body, dict) and bool(body.get("errorMessage"))


# -- item 9: integers ---------------------------------------------------------------------


async def test_product_ids_int_refuses_or_bson_cannot_hold_are_a_400(shopper: Client):
    for raw in ("²", "٣", str(HUGE), str(2**63)):
        assert refused(await shopper.get(f"/products/{raw}")), raw
        assert refused(await shopper.get(f"/stocks/{raw}")), raw


async def test_a_reservation_of_a_product_id_past_bson_is_a_400(shopper: Client):
    order = {"orderId": f"o-{uuid.uuid4().hex}", "items": [{"productId": HUGE, "quantity": 1}]}
    assert refused(await shopper.post("/reservations", order))


async def test_an_orders_page_past_bson_is_a_400(auth: ServiceProcess, order_svc: ServiceProcess):
    buyer, _ = await logged_in(auth, order_svc.url)
    try:
        assert refused(await buyer.get(f"/orders?page={HUGE}"))
        assert refused(await buyer.get(f"/orders?page={2**62}"))  # times the page size: past it
        assert (await buyer.get("/orders?page=1"))[0] == 200
    finally:
        await buyer.close()


async def test_a_slot_at_a_pickup_point_id_past_bson_is_a_400(
    auth: ServiceProcess, delivery: ServiceProcess
):
    client, _ = await logged_in(auth, delivery.url)
    try:
        choice = {"type": "pickup", "pointId": HUGE}
        body = {"orderId": f"o-{uuid.uuid4().hex}", "delivery": choice}
        assert refused(await client.post("/slots", body))
    finally:
        await client.close()


# -- item 7: JSON only as application/json --------------------------------------------------


async def test_a_json_body_sent_as_text_plain_is_a_415_and_changes_nothing(
    infra: Infra, admin: Client, shopper: Client
):
    pid = await new_product(infra, shopper)
    await feed_stock(infra.kafka_bootstrap, pid, "msk-1", 4)
    raw = b'{"onHand": 40}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        answer = await admin.put(
            f"/stock/{pid}/msk-1", data=raw, headers={"Content-Type": content_type}
        )
        assert refused(answer, 415), answer
    assert (await admin.put(f"/stock/{pid}/msk-1", {"onHand": 5}))[0] == 200


# -- item 13: warehouses are a known set ----------------------------------------------------


async def test_stock_for_a_warehouse_that_does_not_exist_is_a_404_and_sells_nothing(
    infra: Infra, admin: Client, shopper: Client
):
    pid = await new_product(infra, shopper)
    assert refused(await admin.put(f"/stock/{pid}/nowhere", {"onHand": 1}), 404)
    assert await shopper.get(f"/stocks/{pid}") == (200, {"count": 0})
    assert (await admin.get(f"/stock/{pid}"))[1]["lines"] == []


async def test_stock_is_counted_in_a_configured_warehouse_and_one_the_feed_reported(
    infra: Infra, admin: Client, shopper: Client
):
    pid = await new_product(infra, shopper)
    assert (await admin.put(f"/stock/{pid}/spb-1", {"onHand": 2}))[0] == 200
    fed = f"wh-{uuid.uuid4().hex[:8]}"
    assert refused(await admin.put(f"/stock/{pid}/{fed}", {"onHand": 3}), 404)
    other = await new_product(infra, shopper)
    await feed_stock(infra.kafka_bootstrap, other, fed, 1)
    await card_of(shopper, other)  # the feed is read in order: wait for the count to land

    async def counted() -> bool:
        return (await shopper.get(f"/stocks/{other}"))[1] == {"count": 1}

    await eventually(counted)
    assert (await admin.put(f"/stock/{pid}/{fed}", {"onHand": 3}))[0] == 200
    assert await shopper.get(f"/stocks/{pid}") == (200, {"count": 5})


# -- item 12: an Idempotency-Key is for one body --------------------------------------------


async def test_an_idempotency_key_sent_with_another_body_is_a_422_and_orders_nothing_more(
    auth: ServiceProcess, order_svc: ServiceProcess
):
    buyer, _ = await logged_in(auth, order_svc.url)
    try:
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        first = await buyer.post("/gift-card-orders", GIFT, headers=headers)
        assert first[0] == 200, first
        spaced = {"amount": GIFT["amount"], **GIFT}  # the same body, spelled otherwise
        assert await buyer.post("/gift-card-orders", spaced, headers=headers) == first
        other = {**GIFT, "amount": 400_000}
        assert refused(await buyer.post("/gift-card-orders", other, headers=headers), 422)
        assert (await buyer.get("/orders"))[1]["total"] == 1
    finally:
        await buyer.close()


# -- item 8: the bank simulator -------------------------------------------------------------


async def test_the_banks_config_and_ledger_need_the_admin_token(bank: ServiceProcess):
    slow = {"latencyMs": 5000}
    for token in ("", CLIENT_TOKEN, "guess"):
        assert refused(await bank_call(bank, "PUT", "/config", slow, token=token), 401)
        assert refused(await bank_call(bank, "GET", "/ledger", token=token), 401)
    status, config = await bank_call(bank, "GET", "/config", token=ADMIN_TOKEN)
    assert status == 200 and config["latencyMs"] == 0
    assert (await bank_call(bank, "GET", "/ledger", token=ADMIN_TOKEN))[0] == 200


async def test_the_banks_delays_are_bounded(bank: ServiceProcess):
    for change in ({"latencyMs": 10**9}, {"hangSeconds": 10**6}):
        assert refused(await bank_call(bank, "PUT", "/config", change, token=ADMIN_TOKEN))
    status, config = await bank_call(bank, "GET", "/config", token=ADMIN_TOKEN)
    assert status == 200 and config["latencyMs"] == 0 and config["hangSeconds"] == 4


async def test_charges_and_refunds_need_the_shops_client_token_and_a_qr_scan_none(
    bank: ServiceProcess,
):
    card = {"number": "4242424242424242", "expMonth": 12, "expYear": 2099, "cvc": "123"}
    charge = {"idempotencyKey": uuid.uuid4().hex, "amount": 100, "card": card}
    for token in ("", ADMIN_TOKEN):
        assert refused(await bank_call(bank, "POST", "/charges", charge, token=token), 401)
    status, charged = await bank_call(bank, "POST", "/charges", charge, token=CLIENT_TOKEN)
    assert status == 200 and charged["status"] == "succeeded", charged
    refund = {"idempotencyKey": uuid.uuid4().hex, "chargeId": charged["chargeId"], "amount": 40}
    for token in ("", ADMIN_TOKEN):
        assert refused(await bank_call(bank, "POST", "/refunds", refund, token=token), 401)
    status, refunded = await bank_call(bank, "POST", "/refunds", refund, token=CLIENT_TOKEN)
    assert status == 200 and refunded["status"] == "succeeded", refunded
    # the customer's bank app: no shop token, and not refused for the lack of one
    assert (await bank_call(bank, "POST", "/qr/unknown-code/pay", {}, token=""))[0] == 404
