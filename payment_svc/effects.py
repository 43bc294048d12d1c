"""What a payment change tells others, always through the outbox of the same transaction:
order_svc (paid / failed), notification_svc (001 CHARGE / REVERSE results) and orchestra
(the PAYMENT participant's replies)."""

from __future__ import annotations

from datetime import datetime

from schemas import topics
from schemas.payment import (
    OrderPaymentEvent,
    PaymentNotification,
    PaymentRequestType,
    PaymentStatus,
    TokenType,
)
from schemas.saga import ConfirmationReply, Confirmator, RequestType, SagaResponse
from servicekit.mongo import Doc
from servicekit.unit import Tx


def charged(tx: Tx, doc: Doc, captured: bool, error_msg: str | None, at: datetime) -> None:
    """The bank's answer to a charge: order_svc moves the order to PAID (or shows the error),
    and the customer is told."""
    tx.emit(
        topics.PAYMENT_EVENTS,
        OrderPaymentEvent(
            order_id=doc["orderId"],
            payment_id=doc["_id"],
            amount=doc["amount"],
            currency=doc["currency"],
            status=PaymentStatus.SUCCEEDED if captured else PaymentStatus.FAILED,
            error_msg=error_msg,
            timestamp=at,
        ),
        key=doc["orderId"],
    )
    notify(tx, doc, PaymentRequestType.CHARGE, captured, error_msg, at)


def refunded(tx: Tx, doc: Doc, at: datetime) -> None:
    notify(tx, doc, PaymentRequestType.REVERSE, True, None, at)
    if doc.get("reverseReply"):
        reply(tx, doc["orderId"], RequestType.REVERSE, SagaResponse.SUCCESS)


def notify(
    tx: Tx,
    doc: Doc,
    kind: PaymentRequestType,
    ok: bool,
    error_msg: str | None,
    at: datetime,
) -> None:
    tx.emit(
        topics.PAYMENT_NOTIFICATIONS,
        PaymentNotification(
            order_id=doc["orderId"],
            username=doc["username"],
            request_type=kind,
            token_type=TokenType(doc["method"]),
            masked_token_id=doc["masked"],
            response=SagaResponse.SUCCESS if ok else SagaResponse.FAIL,
            error_msg=error_msg,
            timestamp=at,
        ),
        key=doc["orderId"],
    )


def reply(
    tx: Tx, order_id: str, kind: RequestType, response: SagaResponse, reason: str | None = None
) -> None:
    tx.emit(
        topics.CONFIRMATION_REPLIES,
        ConfirmationReply(
            order_id=order_id,
            request_type=kind,
            confirmator=Confirmator.PAYMENT,
            response=response,
            reason=reason,
        ),
        key=order_id,
    )
