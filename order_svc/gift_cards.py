"""`POST /gift-card-orders` (SPEC §2 scenario 7): an order for one gift card, awaiting payment
at once. It is paid through payment_svc's `POST /pay` like any order; once paid, order_svc asks
billing to issue the card (handlers.on_payment) and billing's answer completes the order
(handlers.on_gift_card_issued)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from aiohttp import web

from order_svc import domain
from order_svc.book import OrderBook
from order_svc.repository import items_doc
from order_svc.views import view
from schemas.base import DEFAULT_CURRENCY
from schemas.order import OrderStatus as S
from schemas.order_http import GiftCardOrderRequest, OrderView
from servicekit import idempotency
from servicekit.http import read_body, reply
from servicekit.identity import Caller, customer
from servicekit.mongo import Doc


def gift_card_order(
    caller: Caller, req: GiftCardOrderRequest, now: datetime, pay_for: float
) -> Doc:
    """The new order's document: never the cart (no `cartOf`), so the customer's NEW order is
    untouched; unpaid after `pay_for` seconds the unpaid-order sweeper cancels it."""
    position = domain.gift_card_position(req.amount, req.design)
    # Mongo keeps milliseconds: the first answer shows the times every later read will
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return {
        "_id": str(uuid.uuid4()),
        "kind": domain.OrderKind.GIFT_CARD.value,
        "username": caller.username,
        "status": S.AWAITING_PAYMENT.value,
        "version": 0,
        "items": items_doc([position]),
        "total": domain.total([position]),
        "currency": DEFAULT_CURRENCY,
        "email": caller.email,
        "giftCard": {
            "doneeName": req.donee_name,
            "doneeEmail": str(req.donee_email),
            "amount": req.amount,
            "design": req.design.value,
        },
        "expiresAt": now + timedelta(seconds=pay_for),
        "createdAt": now,
        "updatedAt": now,
        "history": [domain.history_entry(S.AWAITING_PAYMENT, caller.username, now)],
    }


def mount(book: OrderBook) -> None:
    routes, service = book.service.routes, book.service
    keys = service.db[idempotency.COLLECTION]

    @routes.post(
        "/gift-card-orders",
        body=GiftCardOrderRequest,
        response=OrderView,
        auth="customer",
        idempotency_key="optional",
    )
    async def order_gift_card(request: web.Request) -> web.Response:
        """An order for one gift card for the donee, AWAITING_PAYMENT; pay it with `POST /pay`.
        An `Idempotency-Key` header makes a retry answer the same order instead of a second."""
        caller = await customer(request, service.auth)
        key = idempotency.key_of(request, required=False)
        req = await read_body(request, GiftCardOrderRequest)

        async def create() -> web.Response:
            doc = gift_card_order(caller, req, book.clock(), book.settings.payment_timeout_seconds)
            await book.orders.insert(doc)
            return reply(view(doc))

        return await idempotency.once(keys, caller.username, key, create)
