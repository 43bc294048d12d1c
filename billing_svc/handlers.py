"""billing's subscribers: a registered user gets a wallet; payment's ledger requests are
applied (or refused) and always answered; a paid gift-card order gets its card.

Each runs in one transaction with the inbox and the messages it emits (servicekit.consumer),
so a redelivered message changes nothing twice; a request repeated under a new message id is
recognised by its `requestId` (its entry or its refusal is already there).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from billing_svc import codes, domain
from billing_svc.domain import Outcome
from billing_svc.gift_cards import GiftCards, card_doc
from billing_svc.repository import Ledger, Wallets, entry_doc
from schemas import topics
from schemas.auth import UserRegistered
from schemas.billing import (
    AccountKind,
    BillingReply,
    BillingRequest,
    EntryReason,
    GiftCardDelivery,
    GiftCardIssued,
    GiftCardIssueRequest,
)
from schemas.saga import SagaResponse
from servicekit.mongo import Doc
from servicekit.service import Service
from servicekit.unit import Tx

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def register(service: Service, ledger: Ledger, cards: GiftCards, clock: Clock) -> None:
    @service.subscribe(topics.USER_REGISTERED, UserRegistered)
    async def open_wallet(msg: UserRegistered, tx: Tx) -> None:
        wallet = domain.open_wallet(msg.username)
        if await Wallets(tx.db).open(wallet, clock(), tx.session):
            log.info("wallet opened for %s", msg.username)
        else:
            log.info("%s already has a wallet", msg.username)

    @service.subscribe(topics.BILLING_REQUESTS, BillingRequest)
    async def on_billing_request(msg: BillingRequest, tx: Tx) -> None:
        now = clock()
        outcome = await settle(ledger, msg, now, tx.session)
        tx.emit(topics.BILLING_REPLIES, billing_reply(msg, outcome, now), key=msg.payment_id)

    @service.subscribe(topics.GIFT_CARD_ISSUES, GiftCardIssueRequest)
    async def on_gift_card_issue(msg: GiftCardIssueRequest, tx: Tx) -> None:
        await issue_card(cards, msg, clock(), tx)


async def settle(
    ledger: Ledger, request: BillingRequest, now: datetime, session: AsyncClientSession
) -> Outcome:
    """Apply or refuse `request`, or give the outcome it got the first time."""
    before = await ledger.answered(request.request_id, session)
    if before is not None:
        log.info("request %s was answered before: same answer again", request.request_id)
        return before
    account = await ledger.account(request.account_kind, request.account_id, session)
    outcome = domain.decide(request, account)
    if outcome.applied:
        await ledger.apply(request, account, outcome, now, session)
    else:
        await ledger.refuse(request, outcome, now, session)
    log.info("%s %s: %s", request.op, request.request_id, outcome.reason or "applied")
    return outcome


def billing_reply(request: BillingRequest, outcome: Outcome, now: datetime) -> BillingReply:
    return BillingReply(
        request_id=request.request_id,
        payment_id=request.payment_id,
        op=request.op,
        account_kind=request.account_kind,
        account_id=request.account_id,
        response=SagaResponse.SUCCESS if outcome.applied else SagaResponse.FAIL,
        reason=outcome.reason,
        balance=outcome.balance,
        timestamp=now,
    )


async def issue_card(cards: GiftCards, msg: GiftCardIssueRequest, now: datetime, tx: Tx) -> None:
    """One card per order: a repeated request only tells order_svc again (the donee never gets
    a second code)."""
    card = await cards.of_order(msg.order_id, tx.session)
    if card is None:
        code = codes.new_activation_code()
        card = card_doc(str(uuid.uuid4()), msg, codes.new_card_number(), codes.code_hash(code), now)
        await cards.issue(card, issue_entry(card, msg, now), tx.session)
        tx.emit(topics.GIFT_CARD_DELIVERIES, delivery(card, code), key=card["number"])
        log.info("gift card %s issued for order %s", card["_id"], msg.order_id)
    else:
        log.info("order %s already has gift card %s", msg.order_id, card["_id"])
    issued = GiftCardIssued(
        order_id=msg.order_id,
        payment_id=card["paymentId"],
        gift_card_id=card["_id"],
        number=card["number"],
        amount=card["amount"],
        timestamp=now,
    )
    tx.emit(topics.GIFT_CARDS_ISSUED, issued, key=msg.order_id)


def issue_entry(card: Doc, msg: GiftCardIssueRequest, now: datetime) -> Doc:
    """The entry that credits a new card with its value, so its balance is the sum of its
    entries from the start."""
    return entry_doc(
        f"issue:{msg.order_id}",
        (AccountKind.GIFT_CARD, card["_id"]),
        card["amount"],
        card["amount"],
        reason=EntryReason.ISSUE.value,
        paymentId=msg.payment_id,
        orderId=msg.order_id,
        username=msg.buyer,
        at=now,
    )


def delivery(card: Doc, code: str) -> GiftCardDelivery:
    return GiftCardDelivery(
        gift_card_number=card["number"],
        activation_code=code,
        donee_first_name=card["doneeName"],
        donee_email=card["doneeEmail"],
        amount=card["amount"],
        currency=card["currency"],
        design=card["design"],
        order_id=card["orderId"],
    )
