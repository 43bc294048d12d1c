"""Kafka in: payment results, issued gift cards, saga outcomes and the neighbours' status feed;
and the sweeper that cancels orders left unpaid past their deadline (000: 10 minutes)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial

from pymongo.asynchronous.client_session import AsyncClientSession

from order_svc import domain, effects
from order_svc.book import OrderBook
from order_svc.domain import OrderKind
from schemas import topics
from schemas.billing import GiftCardIssued
from schemas.notification import NotificationType
from schemas.order import OrderStatus as S
from schemas.order import OrderStatusUpdate
from schemas.payment import OrderPaymentEvent, PaymentStatus
from schemas.saga import OrderOutcome, SagaResponse
from servicekit.mongo import Doc
from servicekit.unit import Tx

log = logging.getLogger(__name__)


def register(book: OrderBook) -> None:
    service, orders = book.service, book.orders

    async def load(
        messages: Sequence[OrderPaymentEvent | OrderOutcome | OrderStatusUpdate | GiftCardIssued],
        session: AsyncClientSession,
    ) -> None:
        await orders.preload([m.order_id for m in messages], session)

    @service.subscribe(topics.PAYMENT_EVENTS, OrderPaymentEvent, load)
    async def on_payment(msg: OrderPaymentEvent, tx: Tx) -> None:
        doc = await orders.get(msg.order_id, tx.session)
        if doc is None:
            log.warning("payment for unknown order %s", msg.order_id)
            return
        if msg.status is PaymentStatus.FAILED:
            if doc["status"] == S.AWAITING_PAYMENT:
                await orders.update(
                    doc, {"paymentError": msg.error_msg or "payment failed"}, tx.session
                )
            return
        if doc["status"] == S.AWAITING_PAYMENT:
            new = await paid(tx, doc, msg.payment_id)
            if domain.kind_of(new) is OrderKind.GIFT_CARD:
                # asked here, not by payment, because only the order knows it still wants the
                # card: a payment for a cancelled one is refunded below and issues nothing
                effects.issue_gift_card(tx, new, book.clock())
            else:
                effects.notify(tx, new, NotificationType.SUCCESS_PAYMENT)
        elif doc.get("paymentId") != msg.payment_id:
            # money arrived for an order that no longer takes it (cancelled meanwhile, or a
            # second payment): give it back
            log.warning(
                "payment %s for %s order %s: refunding", msg.payment_id, doc["status"], doc["_id"]
            )
            effects.release(
                tx, {**doc, "paymentId": msg.payment_id}, refund=True, only_payment=True
            )

    async def paid(tx: Tx, doc: Doc, payment_id: str) -> Doc:
        return await orders.update(
            doc,
            {"paymentId": payment_id, "paymentError": None},
            tx.session,
            status=S.PAID,
            by="payment_svc",
            at=book.clock(),
            unset=("expiresAt",),
        )

    @service.subscribe(topics.GIFT_CARDS_ISSUED, GiftCardIssued, load)
    async def on_gift_card_issued(msg: GiftCardIssued, tx: Tx) -> None:
        doc = await orders.get(msg.order_id, tx.session)
        if doc is None or domain.kind_of(doc) is not OrderKind.GIFT_CARD:
            log.warning("gift card %s issued for no gift-card order %s", msg.number, msg.order_id)
            return
        if doc["status"] == S.AWAITING_PAYMENT:
            # the card overtook the payment event (they come on different topics)
            doc = await paid(tx, doc, msg.payment_id)
        if not domain.can_move(S(doc["status"]), S.COMPLETED, OrderKind.GIFT_CARD):
            if doc["status"] != S.COMPLETED:  # COMPLETED: this message was seen already
                log.error(
                    "gift card %s issued for %s order %s", msg.number, doc["status"], doc["_id"]
                )
            return
        await orders.update(
            doc,
            {"giftCard": {**doc["giftCard"], "giftCardNumber": msg.number}},
            tx.session,
            status=S.COMPLETED,
            by="billing_svc",
            at=book.clock(),
        )

    @service.subscribe(topics.ORDER_OUTCOMES, OrderOutcome, load)
    async def on_outcome(msg: OrderOutcome, tx: Tx) -> None:
        doc = await orders.get(msg.order_id, tx.session)
        if doc is None or doc["status"] != S.IN_PROGRESS:
            log.info("outcome for %s ignored (order is %s)", msg.order_id, doc and doc["status"])
            return
        ok = msg.response is SagaResponse.SUCCESS
        await orders.update(
            doc,
            {"reason": None if ok else msg.reason},
            tx.session,
            status=S.CONFIRMED if ok else S.CANCELLED,
            by="orchestra",
            at=book.clock(),
            reason=msg.reason,
        )

    @service.subscribe(topics.ORDER_STATUS_FEED, OrderStatusUpdate, load)
    async def on_status(msg: OrderStatusUpdate, tx: Tx) -> None:
        doc = await orders.get(msg.order_id, tx.session)
        if doc is None:
            log.warning("status for unknown order %s", msg.order_id)
            return
        current = S(doc["status"])
        if msg.status is current:
            return
        allowed = domain.can_move(current, msg.status, domain.kind_of(doc))
        if not allowed or msg.status is S.CANCELLED:
            log.warning("status feed: %s -> %s refused for %s", current, msg.status, doc["_id"])
            return
        new = await orders.update(
            doc,
            {},
            tx.session,
            status=msg.status,
            by=msg.source,
            at=book.clock(),
            reason=msg.reason,
        )
        if msg.status is S.COMPLETED:
            effects.notify(tx, new, NotificationType.COMPLETED)

    @service.loop
    async def cancel_unpaid(_: object) -> None:
        while True:
            for doc in await orders.unpaid_before(book.clock()):
                await service.transaction(partial(expire, order_id=doc["_id"]))
            await asyncio.sleep(book.settings.unpaid_sweep_seconds)

    async def expire(tx: Tx, *, order_id: str) -> None:
        doc = await orders.get(order_id, tx.session)
        if doc and doc["status"] == S.AWAITING_PAYMENT and doc["expiresAt"] < book.clock():
            await book.cancel(tx, doc, "order_svc", "payment timeout")
