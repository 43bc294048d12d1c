"""billing's edge: the caller's wallet with its latest entries, their gift cards, and the
activation of a gift card by its code. Who the caller is comes from the session only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from billing_svc import codes
from billing_svc.domain import GiftCardAlreadyActive, GiftCardNotFound, Wallet, WalletNotFound
from billing_svc.gift_cards import ActivationAttempts, GiftCards
from billing_svc.repository import Ledger, Wallets
from schemas.billing import AccountKind
from schemas.billing_http import (
    ActivateRequest,
    EntryView,
    GiftCardList,
    GiftCardView,
    WalletView,
)
from servicekit.errors import TooManyRequests
from servicekit.http import read_body, reply
from servicekit.identity import customer
from servicekit.mongo import Doc
from servicekit.service import Service, Tx

RECENT_ENTRIES = 20
Clock = Callable[[], datetime]


def register(
    service: Service,
    ledger: Ledger,
    cards: GiftCards,
    attempts: ActivationAttempts,
    clock: Clock,
) -> None:
    wallets = Wallets(service.db)

    @service.routes.get("/wallet", response=WalletView, auth="customer")
    async def get_wallet(request: web.Request) -> web.Response:
        """The caller's wallet balance (kopecks) and its 20 latest entries, newest first."""
        caller = await customer(request, service.auth)

        async def read(tx: Tx) -> tuple[Wallet | None, list[Doc]]:
            # one snapshot: read apart, a credit committed between the two reads showed its
            # entry beside the balance from before it (seen on the top-up page: 0,00 ₽)
            wallet = await wallets.get(caller.username, tx.session)
            entries = await ledger.recent(
                AccountKind.WALLET, caller.username, RECENT_ENTRIES, tx.session
            )
            return wallet, entries

        wallet, recent = await service.transaction(read)
        if wallet is None:
            raise WalletNotFound()
        view = WalletView(
            username=wallet.username,
            balance=wallet.balance,
            currency=wallet.currency,
            entries=tuple(entry_view(doc) for doc in recent),
        )
        return reply(view)

    @service.routes.get("/gift-cards", response=GiftCardList, auth="customer")
    async def list_gift_cards(request: web.Request) -> web.Response:
        """The gift cards the caller activated, with balances, newest first."""
        caller = await customer(request, service.auth)
        owned = await cards.owned_by(caller.username)
        return reply(GiftCardList(items=tuple(card_view(doc) for doc in owned)))

    @service.routes.get("/gift-cards/{id}", response=GiftCardView, auth="customer")
    async def get_gift_card(request: web.Request) -> web.Response:
        """One of the caller's gift cards (404 for any other)."""
        caller = await customer(request, service.auth)
        card = await cards.one(request.match_info["id"], caller.username)
        if card is None:
            raise GiftCardNotFound()
        return reply(card_view(card))

    @service.routes.post(
        "/gift-cards/activate", body=ActivateRequest, response=GiftCardView, auth="customer"
    )
    async def activate_gift_card(request: web.Request) -> web.Response:
        """Bind a gift card to the caller by its activation code; a few wrong codes per user
        in 15 minutes, then 429."""
        caller = await customer(request, service.auth)
        body = await read_body(request, ActivateRequest)
        now = clock()
        # counted before the code is looked at: parallel guesses all count
        if not await attempts.take(caller.username, now):
            raise TooManyRequests(
                "too many wrong gift card codes; try again later",
                retry_after=attempts.window.retry_after(now),
            )
        card = await cards.by_code(codes.code_hash(body.code))
        if card is None:
            raise GiftCardNotFound()
        if not await cards.activate(card["_id"], caller.username, now):
            raise GiftCardAlreadyActive()
        await attempts.give_back(caller.username, now)
        activated = await cards.one(card["_id"], caller.username)
        if activated is None:  # pragma: no cover - it was bound to the caller just now
            raise GiftCardNotFound()
        return reply(card_view(activated))


def entry_view(doc: Doc) -> EntryView:
    return EntryView(
        id=doc["_id"],
        amount=doc["amount"],
        balance_after=doc["balanceAfter"],
        reason=doc["reason"],
        payment_id=doc.get("paymentId"),
        order_id=doc.get("orderId"),
        at=doc["at"],
    )


def card_view(doc: Doc) -> GiftCardView:
    return GiftCardView(
        id=doc["_id"],
        number=doc["number"],
        amount=doc["amount"],
        balance=doc["balance"],
        currency=doc["currency"],
        design=doc["design"],
        activated_at=doc.get("activatedAt"),
    )
