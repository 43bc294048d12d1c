"""Kafka in: payment results (a paid order is handed over by itself), issued gift cards, saga
outcomes and the neighbours' status feed; the sweepers that cancel orders left unpaid past their
deadline (000: 10 minutes) and paid orders that never got a saga outcome."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from pymongo.asynchronous.client_session import AsyncClientSession

from order_svc import domain, effects, guards
from order_svc.book import OrderBook, pending
from order_svc.domain import OrderKind
from order_svc.guards import Actor
from schemas import topics
from schemas.billing import GiftCardIssued
from schemas.notification import NotificationType
from schemas.order import OrderStatus as S
from schemas.order import OrderStatusUpdate
from schemas.payment import OrderPaymentEvent, PaymentStatus
from schemas.saga import Disposition, OrderOutcome, SagaResponse
from servicekit.mongo import Doc
from servicekit.sweeps import nudged
from servicekit.unit import Tx

log = logging.getLogger(__name__)
TOO_LATE = "the order could not be confirmed in time"


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
                effects.keep_holds(tx, new, new["updatedAt"], book.settings.paid_hold_seconds)
                if book.settings.auto_handover:
                    await book.hand_over(tx, new, "order_svc", Actor.SYSTEM)
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
        guards.check(Actor.PAYMENT, S(doc["status"]), S.PAID, domain.kind_of(doc))
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
        if not guards.allows(Actor.BILLING, S(doc["status"]), S.COMPLETED, OrderKind.GIFT_CARD):
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
        """SUCCESS confirms an order in progress; FAIL cancels it, or closes the cancellation
        (or return) it asked for."""
        doc = await orders.get(msg.order_id, tx.session)
        current = doc and S(doc["status"])
        if doc is None or current is None:
            log.warning("outcome for unknown order %s ignored", msg.order_id)
        elif msg.response is SagaResponse.SUCCESS and current is S.IN_PROGRESS:
            new = await orders.update(
                doc,
                {"reason": None},
                tx.session,
                status=S.CONFIRMED,
                by="orchestra",
                at=book.clock(),
                unset=("handoverDeadline", "feedAhead"),
            )
            for held in doc.get("feedAhead", []):
                new = await apply_status(tx, new, OrderStatusUpdate.model_validate(held))
        elif msg.response is SagaResponse.FAIL and (pending(doc) or current is S.IN_PROGRESS):
            await book.close_cancellation(tx, doc, msg.reason)
        else:
            log.info("outcome %s for %s order %s ignored", msg.response, current, msg.order_id)

    @service.subscribe(topics.ORDER_STATUS_FEED, OrderStatusUpdate, load)
    async def on_status(msg: OrderStatusUpdate, tx: Tx) -> None:
        """003's status feed, checked like everyone else: fulfilment moves are applied, a
        CANCELLED becomes a cancellation through orchestra, anything else is logged."""
        doc = await orders.get(msg.order_id, tx.session)
        if doc is None:
            log.warning("status for unknown order %s", msg.order_id)
            return
        if doc["status"] == S.IN_PROGRESS:
            # store and delivery act on their CONFIRM, so their news can overtake orchestra's
            # outcome (order_svc down a while, the feed read first): kept, and applied once the
            # outcome has confirmed the order
            held = [*doc.get("feedAhead", []), msg.model_dump(mode="json", by_alias=True)]
            await orders.update(doc, {"feedAhead": held}, tx.session)
            log.info(
                "status feed (%s): %s for %s kept until its saga's outcome",
                msg.source,
                msg.status,
                doc["_id"],
            )
            return
        await apply_status(tx, doc, msg)

    async def apply_status(tx: Tx, doc: Doc, msg: OrderStatusUpdate) -> Doc:
        current = S(doc["status"])
        if msg.status is current or (msg.status is S.CANCELLED and pending(doc)):
            return doc  # seen already
        if not guards.allows(Actor.FEED, current, msg.status, domain.kind_of(doc)):
            log.warning(
                "status feed (%s): %s -> %s refused for %s",
                msg.source,
                current,
                msg.status,
                doc["_id"],
            )
            return doc
        if msg.status is S.CANCELLED:
            reason = msg.reason or f"cancelled by {msg.source}"
            disposition = msg.disposition or Disposition.RESTOCK
            return await book.cancel(
                tx, doc, msg.source, reason, Actor.FEED, disposition=disposition
            )
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
        return new

    # orders get their expiresAt and handoverDeadline in this service's transactions (they
    # nudge the sweepers), and fall due then (read back): servicekit.sweeps
    unpaid_pace = nudged(service, book.settings.unpaid_sweep_seconds, book.clock)
    handover_pace = nudged(service, book.settings.handover_sweep_seconds, book.clock)

    @service.loop
    async def cancel_unpaid(_: object) -> None:
        while True:
            for doc in (due := await orders.unpaid_before(book.clock())):
                await service.transaction(partial(expire, order_id=doc["_id"]))
            await unpaid_pace.sleep(book.clock() if due else await orders.next_unpaid_expiry())

    async def expire(tx: Tx, *, order_id: str) -> None:
        doc = await orders.get(order_id, tx.session)
        if doc and doc["status"] == S.AWAITING_PAYMENT and doc["expiresAt"] < book.clock():
            await book.cancel(tx, doc, "order_svc", "payment timeout", Actor.SYSTEM)

    @service.loop
    async def cancel_unconfirmed(_: object) -> None:
        while True:
            for doc in (due := await orders.handed_over_before(book.clock())):
                await service.transaction(partial(give_up, order_id=doc["_id"]))
            await handover_pace.sleep(
                book.clock() if due else await orders.next_handover_deadline()
            )

    async def give_up(tx: Tx, *, order_id: str) -> None:
        doc = await orders.get(order_id, tx.session)
        deadline = doc and doc.get("handoverDeadline")
        if doc and doc["status"] == S.IN_PROGRESS and deadline and deadline < book.clock():
            await book.cancel(tx, doc, "order_svc", TOO_LATE, Actor.SYSTEM)
