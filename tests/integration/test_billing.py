"""billing_svc as its own process on the real broker and database, beside a real auth_svc:
wallet credits and debits answered on Kafka and shown on GET /wallet, refusals that change
nothing, a request seen twice applied once, concurrent debits that never overdraw, gift cards
issued once per order, activated by their e-mailed code for one user only, wrong codes
limited per user, and every balance equal to the sum of its entries."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from billing_svc import domain
from billing_svc.handlers import settle as settle_in_tx
from billing_svc.repository import Ledger
from launcher.processes import ServiceProcess
from schemas import topics
from schemas.billing import BillingRequest
from servicekit.mongo import Mongo, utcnow
from tests.conftest import start_service
from tests.integration.test_auth_edge import new_user
from tests.support.billing import (
    deliveries_of,
    issue_request,
    ledger_request,
    messages_keyed,
    reply_to,
    send_issue,
    send_request,
    settle,
)
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish, publish_all

MongoClient = AsyncMongoClient[dict[str, Any]]


@pytest.fixture(scope="module")
async def billing(infra: Infra, auth: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    env = {"SAGASHOP_AUTH_URL": auth.url}
    proc = start_service(infra, "billing_svc", Path(tempfile.mkdtemp()), env=env)
    await proc.wait_ready()
    yield proc
    proc.kill()


class Customer(Client):
    username = ""


async def customer(auth: ServiceProcess, billing: ServiceProcess) -> Customer:
    """A user registered and logged in at auth_svc, calling billing with their session."""
    person = new_user()
    c = Customer(billing.url)
    c.username = person["username"]
    assert (await c.post("/register", person, base=auth.url))[0] == 200
    creds = {"username": person["username"], "password": person["password"]}
    assert (await c.post("/login", creds, base=auth.url))[0] == 200
    return c


@pytest.fixture
async def ivan(auth: ServiceProcess, billing: ServiceProcess) -> AsyncIterator[Customer]:
    c = await customer(auth, billing)
    yield c
    await c.close()


@pytest.fixture
async def maria(auth: ServiceProcess, billing: ServiceProcess) -> AsyncIterator[Customer]:
    c = await customer(auth, billing)
    yield c
    await c.close()


async def opened_wallet(c: Customer) -> dict[str, Any]:
    async def wallet() -> dict[str, Any] | None:
        status, body = await c.get("/wallet")
        return body if status == 200 else None

    found: dict[str, Any] = await eventually(wallet)
    return found


# -- wallets ----------------------------------------------------------------------------------
async def test_a_credit_then_a_debit_show_in_the_balance_and_the_entries_newest_first(
    infra: Infra, ivan: Customer
):
    top_up = await settle(infra, ledger_request(ivan.username, "CREDIT", 1000))
    assert (top_up["response"], top_up["balance"]) == ("SUCCESS", 1000)
    pay = ledger_request(ivan.username, "DEBIT", 300)
    paid = await settle(infra, pay)
    assert (paid["response"], paid["balance"], paid["requestId"]) == (
        "SUCCESS",
        700,
        pay["requestId"],
    )
    status, wallet = await ivan.get("/wallet")
    assert status == 200 and wallet["balance"] == 700 and wallet["currency"] == "RUB"
    assert [(e["amount"], e["balanceAfter"], e["reason"]) for e in wallet["entries"]] == [
        (-300, 700, "PAYMENT"),
        (1000, 1000, "TOP_UP"),
    ]
    assert wallet["entries"][0]["id"] == pay["requestId"]
    assert wallet["entries"][0]["orderId"] == pay["orderId"]


async def test_a_debit_the_wallet_cannot_cover_fails_with_the_balance_and_changes_nothing(
    infra: Infra, ivan: Customer
):
    before = await opened_wallet(ivan)
    short = await settle(infra, ledger_request(ivan.username, "DEBIT", 500))
    assert short["response"] == "FAIL"
    assert (short["reason"], short["balance"]) == ("not enough money in the wallet", 0)
    assert await ivan.get("/wallet") == (200, before)


async def test_a_debit_of_someone_elses_wallet_fails(infra: Infra, ivan: Customer, maria):
    await settle(infra, ledger_request(maria.username, "CREDIT", 1000))
    theft = ledger_request(ivan.username, "DEBIT", 100, account_id=maria.username)
    refused = await settle(infra, theft)
    assert (refused["response"], refused["reason"]) == ("FAIL", "wallet not found")
    assert (await maria.get("/wallet"))[1]["balance"] == 1000


async def test_the_same_request_twice_changes_the_balance_once_and_is_answered_twice_alike(
    infra: Infra, ivan: Customer
):
    top_up = ledger_request(ivan.username, "CREDIT", 2500)
    await send_request(infra, top_up)
    await send_request(infra, top_up)  # payment_svc retrying: a new message id, same request
    first, second = await messages_keyed(infra, topics.BILLING_REPLIES, [top_up["paymentId"]], 2)
    assert first["response"] == second["response"] == "SUCCESS"
    assert first["balance"] == second["balance"] == 2500
    _, wallet = await ivan.get("/wallet")
    assert wallet["balance"] == 2500 and len(wallet["entries"]) == 1


async def test_a_refused_request_repeated_gets_the_same_refusal_even_after_a_top_up(
    infra: Infra, ivan: Customer
):
    await opened_wallet(ivan)
    debit = ledger_request(ivan.username, "DEBIT", 400)
    assert (await settle(infra, debit))["response"] == "FAIL"
    await settle(infra, ledger_request(ivan.username, "CREDIT", 1000))
    await send_request(infra, debit)
    again = await reply_to(infra, debit, count=2)
    assert (again["response"], again["balance"]) == ("FAIL", 0)
    assert (await ivan.get("/wallet"))[1]["balance"] == 1000


async def test_twenty_concurrent_debits_of_100_against_1000_apply_exactly_ten(
    infra: Infra, ivan: Customer
):
    await settle(infra, ledger_request(ivan.username, "CREDIT", 1000))
    debits = [ledger_request(ivan.username, "DEBIT", 100) for _ in range(20)]
    # keyed by payment, not by account: the records land in different lanes and partitions,
    # so the debits run side by side instead of one after another
    batch = [(d["paymentId"], d, str(uuid.uuid4())) for d in debits]
    await publish_all(infra.kafka_bootstrap, topics.BILLING_REQUESTS.name, batch)
    replies = await messages_keyed(infra, topics.BILLING_REPLIES, [d["paymentId"] for d in debits])
    outcomes = [r["response"] for r in replies]
    assert (outcomes.count("SUCCESS"), outcomes.count("FAIL")) == (10, 10)
    assert (await ivan.get("/wallet"))[1]["balance"] == 0


async def test_the_wallet_read_while_credits_land_always_shows_a_balance_matching_its_entries(
    infra: Infra, ivan: Customer
):
    """The top-up page stops at the first answer listing its credit: that answer's balance
    must include it (read apart, it once showed the entry beside the balance before it)."""
    await opened_wallet(ivan)
    seen: list[tuple[int, int]] = []

    async def read_until(balance: int) -> None:
        for _ in range(5000):
            status, wallet = await ivan.get("/wallet")
            assert status == 200
            entries = wallet["entries"]
            assert wallet["balance"] == sum(e["amount"] for e in entries), wallet
            if entries:
                seen.append((wallet["balance"], entries[0]["balanceAfter"]))
                assert wallet["balance"] == entries[0]["balanceAfter"], wallet
            if wallet["balance"] == balance:
                return

    reader = asyncio.create_task(read_until(1500))
    for _ in range(15):  # one by one, so the reads fall between commits
        await send_request(infra, ledger_request(ivan.username, "CREDIT", 100))
        await asyncio.sleep(0.05)
    await asyncio.wait_for(reader, 60)
    assert seen[-1] == (1500, 1500)
    assert len({balance for balance, _ in seen}) > 2  # the reads did fall between the credits
    assert seen and seen[-1] == (1500, 1500)
    assert len({balance for balance, _ in seen}) > 1  # the reads did overlap the credits


async def test_twenty_debits_in_twenty_parallel_transactions_never_overdraw(
    infra: Infra, billing: ServiceProcess, ivan: Customer
):
    """The ledger itself, without the consumer's ordering: every debit in its own database
    transaction at the same time, on billing's own database."""
    await settle(infra, ledger_request(ivan.username, "CREDIT", 1000))
    mongo = Mongo(infra.mongo_url, billing.name, timeout_seconds=30)
    ledger = Ledger(mongo.db)

    async def debit() -> domain.Outcome:
        request = BillingRequest.model_validate(ledger_request(ivan.username, "DEBIT", 100))
        return await mongo.transaction(lambda s: settle_in_tx(ledger, request, utcnow(), s))

    try:
        outcomes = await asyncio.gather(*(debit() for _ in range(20)))
    finally:
        await mongo.close()
    assert sum(o.applied for o in outcomes) == 10
    assert (await ivan.get("/wallet"))[1]["balance"] == 0


# -- gift cards -------------------------------------------------------------------------------
async def issued_card(infra: Infra, buyer: str, amount: int = 150_000) -> dict[str, Any]:
    """Issue a card for a new paid order; its delivery message (number and code) and the
    GiftCardIssued event order_svc gets."""
    request = issue_request(buyer, amount)
    await send_issue(infra, request)
    [issued] = await messages_keyed(infra, topics.GIFT_CARDS_ISSUED, [request["orderId"]])
    [delivery] = await eventually(lambda: deliveries_of(infra, request["orderId"]))
    return {"request": request, "issued": issued, "delivery": delivery}


async def test_an_issued_card_is_emailed_once_with_its_code_and_activates_for_the_caller(
    infra: Infra, billing: ServiceProcess, mongo: MongoClient, ivan: Customer, maria: Customer
):
    card = await issued_card(infra, buyer=maria.username)
    delivery, issued = card["delivery"], card["issued"]
    assert delivery["giftCardNumber"] == issued["number"]
    assert (delivery["doneeFirstName"], delivery["doneeEmail"]) == ("Maria", "maria@example.com")
    assert (delivery["amount"], delivery["design"]) == (150_000, "birthday")
    code = delivery["activationCode"]
    stored = await mongo[billing.name].gift_cards.find_one({"_id": issued["giftCardId"]})
    assert stored is not None and stored["status"] == "ISSUED" and code not in str(stored)

    typed = code.replace("-", " ").lower()  # the donee types it loosely
    status, view = await ivan.post("/gift-cards/activate", {"code": typed})
    assert status == 200, view
    assert (view["id"], view["number"], view["balance"], view["amount"]) == (
        issued["giftCardId"],
        issued["number"],
        150_000,
        150_000,
    )
    assert (await ivan.get("/gift-cards"))[1]["items"] == [view]
    assert await ivan.get(f"/gift-cards/{view['id']}") == (200, view)
    assert await maria.get(f"/gift-cards/{view['id']}") == (
        404,
        {"errorMessage": "gift card not found"},
    )
    assert (await maria.get("/gift-cards"))[1]["items"] == []


async def test_a_card_activates_once_a_second_activation_or_another_user_gets_409(
    infra: Infra, ivan: Customer, maria: Customer
):
    code = (await issued_card(infra, buyer=ivan.username))["delivery"]["activationCode"]
    assert (await ivan.post("/gift-cards/activate", {"code": code}))[0] == 200
    already = (409, {"errorMessage": "gift card is already activated"})
    assert await ivan.post("/gift-cards/activate", {"code": code}) == already
    assert await maria.post("/gift-cards/activate", {"code": code}) == already
    assert (await maria.get("/gift-cards"))[1]["items"] == []


async def test_a_repeated_issue_request_issues_nothing_new_and_sends_no_second_code(
    infra: Infra, billing: ServiceProcess, mongo: MongoClient, ivan: Customer
):
    card = await issued_card(infra, buyer=ivan.username)
    order_id = card["request"]["orderId"]
    await send_issue(infra, card["request"])  # order_svc asking again, under a new message id
    issued = await messages_keyed(infra, topics.GIFT_CARDS_ISSUED, [order_id], per_key=2)
    assert {i["giftCardId"] for i in issued} == {card["issued"]["giftCardId"]}
    assert len(await deliveries_of(infra, order_id)) == 1
    assert await mongo[billing.name].gift_cards.count_documents({"orderId": order_id}) == 1


async def test_the_owner_pays_from_a_card_and_anyone_else_is_told_it_does_not_exist(
    infra: Infra, ivan: Customer, maria: Customer
):
    card = await issued_card(infra, buyer=maria.username, amount=60_000)
    code = card["delivery"]["activationCode"]
    assert (await ivan.post("/gift-cards/activate", {"code": code}))[0] == 200
    card_id = card["issued"]["giftCardId"]
    by_maria = ledger_request(maria.username, "DEBIT", 100, "GIFT_CARD", card_id)
    refused = await settle(infra, by_maria)
    assert (refused["response"], refused["reason"]) == ("FAIL", "gift card not found")
    assert "balance" not in refused
    too_much = await settle(
        infra, ledger_request(ivan.username, "DEBIT", 60_001, "GIFT_CARD", card_id)
    )
    assert (too_much["reason"], too_much["balance"]) == (
        "not enough money on the gift card",
        60_000,
    )
    paid = await settle(infra, ledger_request(ivan.username, "DEBIT", 45_000, "GIFT_CARD", card_id))
    assert (paid["response"], paid["balance"]) == ("SUCCESS", 15_000)
    refund = ledger_request(ivan.username, "CREDIT", 5_000, "GIFT_CARD", card_id)
    assert (await settle(infra, refund))["balance"] == 20_000
    assert (await ivan.get(f"/gift-cards/{card_id}"))[1]["balance"] == 20_000


async def test_five_wrong_codes_get_404_and_then_429_with_retry_after_even_for_a_right_code(
    infra: Infra, ivan: Customer
):
    code = (await issued_card(infra, buyer=ivan.username))["delivery"]["activationCode"]
    unknown = (404, {"errorMessage": "gift card not found"})
    for _ in range(5):
        assert await ivan.post("/gift-cards/activate", {"code": "AAAA-BBBB-CCCC-DDDD"}) == unknown
    status, body = await ivan.post("/gift-cards/activate", {"code": code})
    assert status == 429 and "too many" in body["errorMessage"]
    assert ivan.last is not None and 1 <= int(ivan.last.headers["Retry-After"]) <= 900


async def test_parallel_guesses_are_all_counted_so_only_five_are_checked(
    infra: Infra, ivan: Customer
):
    guesses = [{"code": f"WRNG-{i:04d}-AAAA-BBBB"} for i in range(30)]
    answers = await asyncio.gather(*(ivan.post("/gift-cards/activate", g) for g in guesses))
    statuses = [status for status, _ in answers]
    assert (statuses.count(404), statuses.count(429)) == (5, 25)


async def test_a_successful_activation_does_not_use_up_an_attempt(infra: Infra, ivan: Customer):
    for _ in range(4):
        await ivan.post("/gift-cards/activate", {"code": "AAAA-BBBB-CCCC-DDDD"})
    for _ in range(2):
        code = (await issued_card(infra, buyer=ivan.username))["delivery"]["activationCode"]
        assert (await ivan.post("/gift-cards/activate", {"code": code}))[0] == 200
    assert (await ivan.post("/gift-cards/activate", {"code": "AAAA-BBBB-CCCC-DDDD"}))[0] == 404


async def test_bad_activation_bodies_get_400_and_do_not_count_as_attempts(ivan: Customer):
    for body in ({"code": 12345678}, {"code": "ab"}, {}, {"number": "x"}):
        status, answer = await ivan.post("/gift-cards/activate", body)
        assert status == 400 and answer["errorMessage"], (body, answer)
    raw = await ivan.post(
        "/gift-cards/activate", data=b"not json", headers={"Content-Type": "application/json"}
    )
    assert raw[0] == 400
    for _ in range(5):
        assert (await ivan.post("/gift-cards/activate", {"code": "AAAA-BBBB-CCCC-DDDD"}))[0] == 404


async def test_the_edges_need_a_session(billing: ServiceProcess):
    anonymous = Client(billing.url)
    try:
        for path in ("/wallet", "/gift-cards", "/gift-cards/some-id"):
            assert (await anonymous.get(path))[0] == 401
        assert (await anonymous.post("/gift-cards/activate", {"code": "AAAA-BBBB"}))[0] == 401
    finally:
        await anonymous.close()


async def test_a_redelivered_message_is_applied_once(infra: Infra, ivan: Customer):
    top_up = ledger_request(ivan.username, "CREDIT", 700)
    topic = topics.BILLING_REQUESTS.name
    message_id = str(uuid.uuid4())
    for _ in range(2):
        await publish(
            infra.kafka_bootstrap, topic, top_up, key=ivan.username, message_id=message_id
        )
    await reply_to(infra, top_up)
    await settle(infra, ledger_request(ivan.username, "CREDIT", 1))  # after both, in order
    assert (await ivan.get("/wallet"))[1]["balance"] == 701


# -- the invariant (last: it checks what every test above left) ------------------------------
async def test_every_balance_equals_the_sum_of_its_entries_and_none_is_negative(
    billing: ServiceProcess, mongo: MongoClient
):
    db = mongo[billing.name]
    sums: dict[tuple[str, str], int] = {}
    async for entry in db.entries.find():
        key = (entry["accountKind"], entry["accountId"])
        sums[key] = sums.get(key, 0) + entry["amount"]
    accounts = [("WALLET", db.wallets), ("GIFT_CARD", db.gift_cards)]
    checked = 0
    for kind, collection in accounts:
        async for doc in collection.find():
            assert doc["balance"] >= 0
            assert doc["balance"] == sums.pop((kind, doc["_id"]), 0), (kind, doc)
            checked += 1
    assert sums == {}, f"entries of accounts that do not exist: {sums}"
    assert checked > 20
