"""Kafka in: the saga's CONFIRM and REVERSE for the PAYMENT participant (from orchestra, and
REVERSE from order_svc when a paid order is cancelled). Each is one transaction; no bank call
happens here (the transaction may be retried): a refund is only marked, the refund loop of the
cashier makes it and answers the REVERSE once the bank has refunded."""

from __future__ import annotations

import logging
from collections.abc import Callable

from payment_svc import domain, effects
from payment_svc.cashier import Clock
from payment_svc.domain import Reversal
from payment_svc.repository import Payments
from schemas import topics
from schemas.payment_http import PaymentState as P
from schemas.saga import ConfirmationRequest, Confirmator, RequestType, SagaResponse
from servicekit.service import Service
from servicekit.unit import Tx

log = logging.getLogger(__name__)


def register(
    service: Service,
    payments: Payments,
    clock: Clock,
    refunds_due: Callable[[], None] = lambda: None,
) -> None:
    """`refunds_due()` is called once a REVERSE that marked a refund has committed."""

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
        captured = domain.Captured(P(paid["status"]), paid["amount"]) if paid else None
        response, reason = domain.confirmation(state, captured, msg.total)
        effects.reply(tx, msg.order_id, RequestType.CONFIRM, response, reason)

    async def reverse(msg: ConfirmationRequest, tx: Tx) -> None:
        """The order takes no more payments (a later CONFIRM fails); its captured payment, if
        any, is refunded once, however many REVERSEs come."""
        state = await payments.mark_reversed(msg.order_id, tx.session)
        paid = await payments.get(state.paid, tx.session) if state.paid else None
        what = domain.reversal(state, P(paid["status"]) if paid else None)
        now = clock()
        if what is Reversal.REFUND and paid is not None:
            fields = {"reverseReply": True, "refundDueAt": now}
            await payments.update(paid, fields, tx.session, status=P.REFUND_PENDING, at=now)
            tx.on_commit(refunds_due)
        elif what is Reversal.AWAIT_REFUND and paid is not None and not paid.get("reverseReply"):
            await payments.update(paid, {"reverseReply": True}, tx.session, at=now)
        elif what is Reversal.DONE:
            effects.reply(tx, msg.order_id, RequestType.REVERSE, SagaResponse.SUCCESS)
        log.info("REVERSE of %s: %s", msg.order_id, what)
