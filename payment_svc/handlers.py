"""Kafka in: the saga's CONFIRM and REVERSE for the PAYMENT participant (from orchestra, and
REVERSE from order_svc when a paid order is cancelled), and billing's replies to the debits and
credits payment asked for. Each is one transaction; no bank call happens here (the transaction
may be retried): a refund is only marked, the refund loop makes it and answers the REVERSE once
the money is back."""

from __future__ import annotations

import logging

from payment_svc import domain, effects
from payment_svc.cashier import Cashier, Outcome
from payment_svc.domain import Reversal
from payment_svc.refunds import full_refund_key
from schemas import topics
from schemas.billing import BillingReply, LedgerOp
from schemas.payment_http import PaymentState as P
from schemas.saga import ConfirmationRequest, Confirmator, RequestType, SagaResponse
from servicekit.service import Service
from servicekit.unit import Tx

log = logging.getLogger(__name__)


def register(service: Service, cashier: Cashier) -> None:
    payments, refunder = cashier.payments, cashier.refunder

    @service.subscribe(topics.PAYMENT_CONFIRMATIONS, ConfirmationRequest)
    async def on_request(msg: ConfirmationRequest, tx: Tx) -> None:
        if msg.confirmator is not Confirmator.PAYMENT:
            log.warning("%s request for %s ignored", msg.confirmator, msg.order_id)
            return
        if msg.request_type is RequestType.CONFIRM:
            await confirm(msg, tx)
        else:
            await reverse(msg, tx)

    async def confirm(msg: ConfirmationRequest, tx: Tx) -> None:
        """SUCCESS if the order has a captured payment of exactly the order's total."""
        state = await payments.order(msg.order_id, tx.session)
        paid = await payments.get(state.paid, tx.session) if state.paid else None
        captured = None
        if paid:
            captured = domain.Captured(
                P(paid["status"]), paid["amount"], paid.get("refundReserved", 0)
            )
        response, reason = domain.confirmation(state, captured, msg.total)
        effects.reply(tx, msg.order_id, RequestType.CONFIRM, response, reason)

    async def reverse(msg: ConfirmationRequest, tx: Tx) -> None:
        """The order takes no more payments (a later CONFIRM fails); its captured payment, if
        any, is refunded once, however many REVERSEs come."""
        state = await payments.mark_reversed(msg.order_id, tx.session)
        paid = await payments.get(state.paid, tx.session) if state.paid else None
        what = domain.reversal(state, P(paid["status"]) if paid else None)
        now = cashier.clock()
        if what is Reversal.REFUND and paid is not None:
            await refunder.mark_due(tx, paid, now, reverse_reply=True)
        elif what is Reversal.AWAIT_REFUND and paid is not None and not paid.get("reverseReply"):
            await payments.update(paid, {"reverseReply": True}, tx.session, at=now)
        elif what is Reversal.DONE:
            effects.reply(tx, msg.order_id, RequestType.REVERSE, SagaResponse.SUCCESS)
        log.info("REVERSE of %s: %s", msg.order_id, what)

    @service.subscribe(topics.BILLING_REPLIES, BillingReply)
    async def on_billing(msg: BillingReply, tx: Tx) -> None:
        ok = msg.response is SagaResponse.SUCCESS
        if await payments.get(msg.payment_id, tx.session) is None:
            log.warning("billing replied %s for unknown payment %s", msg.request_id, msg.payment_id)
        elif msg.op is LedgerOp.DEBIT:
            outcome = Outcome(ok, msg.request_id, None if ok else msg.reason or "refused")
            await cashier.record_in(tx, msg.payment_id, outcome)
        elif not ok:
            # a credit is refused only for an account that is gone: it needs a person
            log.error("billing refused credit %s: %s", msg.request_id, msg.reason)
        elif msg.request_id == full_refund_key(msg.payment_id):
            doc = await payments.get(msg.payment_id, tx.session)
            rest = domain.rest_to_refund(doc["amount"], doc.get("refundReserved", 0)) if doc else 0
            await refunder.payment_refunded(tx, msg.payment_id, rest)
        elif await refunder.book.get(msg.request_id, tx.session) is not None:
            await refunder.part_refunded(tx, msg.request_id)
        else:
            await payments.mark_credited(msg.payment_id, msg.request_id, tx.session)
