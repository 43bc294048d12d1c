"""The customer's payment means: saved cards (only the bank's token, brand, last four digits
and expiry are kept; never the number or the CVC), the wallet and activated gift cards (their
balances live in billing), and which of them can pay what the customer is about to pay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from aiohttp import web
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from payment_svc import domain
from payment_svc.adapters import BankApi, BankRefused, BankUnavailable, OrderEdge
from payment_svc.billing_edge import BillingEdge
from schemas.payment import TokenType
from schemas.payment_http import (
    CardDetails,
    CardToken,
    GiftCardMeans,
    MeansList,
    MeansQuery,
    SaveCardRequest,
    SavedCard,
    WalletMeans,
)
from servicekit.errors import Conflict, InvalidRequest, NotFound, ServiceUnavailable
from servicekit.http import DIGITS, MAX_INT, read_body, reply
from servicekit.identity import Caller, customer, session_id
from servicekit.mongo import Doc
from servicekit.service import Service

MeansT = TypeVar("MeansT", SavedCard, GiftCardMeans, WalletMeans)
Clock = Callable[[], datetime]
QR_MASK = "SBP QR"
WALLET_MASK = "wallet"


@dataclass(frozen=True)
class Means:
    """What an attempt pays with, resolved and checked."""

    method: TokenType
    masked: str
    means_id: str | None = None
    account_id: str | None = None  # billing's account: the wallet's user or the gift card
    card: CardDetails | None = None  # a new card, charged as typed and never kept
    token: str | None = None  # a saved card's bank token


def card_view(doc: Doc, now: datetime) -> SavedCard:
    expired = domain.card_expired(doc["expMonth"], doc["expYear"], now)
    return SavedCard(
        id=doc["_id"],
        brand=doc["brand"],
        last4=doc["last4"],
        exp_month=doc["expMonth"],
        exp_year=doc["expYear"],
        masked=domain.mask_card(doc["last4"]),
        expired=expired,
        created_at=doc["createdAt"],
    )


class SavedCards:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.cards = db.cards

    async def ensure_indexes(self) -> None:
        await self.cards.create_index([("username", ASCENDING), ("token", ASCENDING)], unique=True)

    async def add(self, username: str, token: CardToken, now: datetime) -> tuple[Doc, bool]:
        """The saved card (True if new); the same card saved again is the same means."""
        doc = {
            "_id": str(uuid.uuid4()),
            "username": username,
            "token": token.token,
            "brand": token.brand,
            "last4": token.last4,
            "expMonth": token.exp_month,
            "expYear": token.exp_year,
            "createdAt": now,
        }
        try:
            await self.cards.insert_one(doc)
            return doc, True
        except DuplicateKeyError:
            existing = await self.cards.find_one({"username": username, "token": token.token})
            if existing is None:
                raise
            return existing, False

    async def own(self, card_id: str, username: str) -> Doc | None:
        return await self.cards.find_one({"_id": card_id, "username": username})

    async def of(self, username: str) -> list[Doc]:
        query = self.cards.find({"username": username}).sort("createdAt", DESCENDING)
        return await query.to_list()

    async def delete(self, card_id: str, username: str) -> bool:
        result = await self.cards.delete_one({"_id": card_id, "username": username})
        return result.deleted_count == 1


class MeansDesk:
    def __init__(
        self, bank: BankApi, billing: BillingEdge, cards: SavedCards, clock: Clock
    ) -> None:
        self.bank = bank
        self.billing = billing
        self.cards = cards
        self.clock = clock

    async def save(self, caller: Caller, card: CardDetails) -> tuple[Doc, bool]:
        """Tokenize the card at the bank and keep the token (True if it was not saved yet)."""
        domain.check_new_card(card)
        try:
            token = await self.bank.tokenize(card)
        except BankRefused as exc:
            raise InvalidRequest(str(exc)) from exc
        except BankUnavailable as exc:
            raise ServiceUnavailable("the bank is not answering, try again") from exc
        return await self.cards.add(caller.username, token, self.clock())

    async def resolve(
        self,
        caller: Caller,
        method: TokenType,
        card: CardDetails | None,
        means_id: str | None,
        save_card: bool,
        amount: int,
        session_id: str | None,
    ) -> Means:
        """The means the request names, checked: 404 for someone else's, 409 when it cannot
        pay `amount` (an expired card, a short balance), 400 when the request is incomplete."""
        if method is TokenType.BANK_CARD:
            return await self._card(caller, card, means_id, save_card)
        if method is TokenType.QR_PAY:
            return Means(method, QR_MASK)
        if method is TokenType.WALLET:
            wallet = await self.billing.wallet(session_id)
            why = domain.short_balance("in the wallet", wallet.balance if wallet else 0, amount)
            if why:
                raise Conflict(why)
            return Means(method, WALLET_MASK, account_id=caller.username)
        if not means_id:
            raise InvalidRequest("meansId of an activated gift card is required for GIFT_CARD")
        gift = await self.billing.gift_card(means_id, session_id)
        if gift is None:
            raise NotFound("payment means not found")
        if why := domain.short_balance("on the gift card", gift.balance, amount):
            raise Conflict(why)
        masked = domain.mask_gift_card(gift.number)
        return Means(method, masked, means_id=gift.id, account_id=gift.id)

    async def _card(
        self, caller: Caller, card: CardDetails | None, means_id: str | None, save: bool
    ) -> Means:
        if means_id:
            saved = await self.cards.own(means_id, caller.username)
            if saved is None:
                raise NotFound("payment means not found")
            if domain.card_expired(saved["expMonth"], saved["expYear"], self.clock()):
                raise Conflict("the saved card has expired; pay with another card")
            masked = domain.mask_card(saved["last4"])
            return Means(TokenType.BANK_CARD, masked, means_id=means_id, token=saved["token"])
        card = domain.check_new_card(card)
        if not save:
            return Means(TokenType.BANK_CARD, domain.mask_card(card.digits), card=card)
        saved, _ = await self.save(caller, card)
        masked = domain.mask_card(saved["last4"])
        return Means(TokenType.BANK_CARD, masked, means_id=saved["_id"], token=saved["token"])


def mount(service: Service, desk: MeansDesk, orders: OrderEdge) -> None:
    routes = service.routes

    @routes.get("/means", response=MeansList, auth="customer", query=MeansQuery)
    async def list_means(request: web.Request) -> web.Response:
        """The caller's saved cards, activated gift cards and wallet; with `?orderId=` (or
        `?amount=` kopecks) each says whether it can pay that (`canPay`, `reason`)."""
        caller = await customer(request, service.auth)
        sid = session_id(request)
        order_id = request.query.get("orderId")
        amount = (await orders.get(order_id, sid)).total if order_id else _amount(request)
        cards, wallet, gifts = await asyncio.gather(
            desk.cards.of(caller.username), desk.billing.wallet(sid), desk.billing.gift_cards(sid)
        )
        now = desk.clock()
        return reply(
            MeansList(
                cards=tuple(_can(card_view(c, now), amount, None) for c in cards),
                gift_cards=tuple(
                    _can(
                        GiftCardMeans(
                            id=g.id,
                            number=domain.mask_gift_card(g.number),
                            balance=g.balance,
                            design=g.design,
                        ),
                        amount,
                        g.balance,
                    )
                    for g in gifts
                ),
                wallet=_can(
                    WalletMeans(balance=wallet.balance if wallet else 0),
                    amount,
                    wallet.balance if wallet else 0,
                ),
                amount=amount,
                order_id=order_id,
            )
        )

    @routes.post(
        "/means/cards",
        body=SaveCardRequest,
        response=SavedCard,
        status=201,
        auth="customer",
        also=(200,),
    )
    async def save_card(request: web.Request) -> web.Response:
        """Save a card: the bank tokenizes it; 201 (200 when it was saved before)."""
        caller = await customer(request, service.auth)
        req = await read_body(request, SaveCardRequest)
        doc, created = await desk.save(caller, req.card)
        return reply(card_view(doc, desk.clock()), status=201 if created else 200)

    @routes.delete("/means/cards/{meansId}", status=204, auth="customer")
    async def delete_card(request: web.Request) -> web.Response:
        """Forget a saved card (204; 404 if it is not the caller's)."""
        caller = await customer(request, service.auth)
        if not await desk.cards.delete(request.match_info["meansId"], caller.username):
            raise NotFound("payment means not found")
        return web.Response(status=204)


def _amount(request: web.Request) -> int | None:
    raw = request.query.get("amount")
    if raw is None:
        return None
    if not DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_INT:  # "²".isdigit(), int() refuses
        raise InvalidRequest("amount: a positive whole number of kopecks")
    return int(raw)


def _can(means: MeansT, amount: int | None, balance: int | None) -> MeansT:
    """`means` saying whether it can pay `amount` (unchanged without an amount)."""
    if amount is None:
        return means
    why = None
    if isinstance(means, SavedCard) and means.expired:
        why = "the card has expired"
    elif balance is not None:
        why = domain.short_balance("", balance, amount)
    return means.model_copy(update={"can_pay": why is None, "reason": why})
