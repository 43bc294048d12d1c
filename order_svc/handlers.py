"""Kafka in: payment results, saga outcomes and the neighbours' status feed; and the sweeper
that cancels orders left unpaid past their deadline (000: 10 minutes)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial

from pymongo.asynchronous.client_session import AsyncClientSession

from order_svc import domain, effects
from order_svc.book import OrderBook
from schemas import topics
from schemas.notification import NotificationType
from schemas.order import OrderStatus as S
from schemas.order import OrderStatusUpdate
from schemas.payment import OrderPaymentEvent, PaymentStatus
from schemas.saga import OrderOutcome, SagaResponse
from servicekit.unit import Tx

log = logging.getLogger(__name__)


def register(book: OrderBook) -> None:
    service, orders = book.service, book.orders

    async def load(
        messages: Sequence[OrderPaymentEvent | OrderOutcome | OrderStatusUpdate],
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
            new = await orders.update(
                doc,
                {"paymentId": msg.payment_id, "paymentError": None},
                tx.session,
                status=S.PAID,
                by="payment_svc",
                at=book.clock(),
                unset=("expiresAt",),
            )
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
        if msg.status not in domain.TRANSITIONS[current] or msg.status is S.CANCELLED:
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
