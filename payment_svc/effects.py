"""What a payment change tells others, always through the outbox of the same transaction:
order_svc (paid / failed), notification_svc (001 CHARGE / REVERSE results, e-mailed to the
payer), orchestra (the PAYMENT participant's replies) and billing (debits of a wallet or gift
card, credits for a top-up or a refund)."""

from __future__ import annotations

from datetime import datetime

from schemas import topics
from schemas.billing import AccountKind, BillingRequest, EntryReason, LedgerOp
from schemas.payment import (
    OrderPaymentEvent,
    PaymentNotification,
    PaymentPurpose,
    PaymentRequestType,
    PaymentStatus,
    TokenType,
)
from schemas.saga import ConfirmationReply, Confirmator, RequestType, SagaResponse
from servicekit.mongo import Doc
from servicekit.unit import Tx


def purpose(doc: Doc) -> PaymentPurpose:
    return PaymentPurpose(doc.get("purpose", PaymentPurpose.ORDER))


def charged(tx: Tx, doc: Doc, captured: bool, error_msg: str | None, at: datetime) -> None:
    """The answer to a charge: order_svc moves the order to PAID (or shows the error); a
    captured top-up is credited to the wallet; the payer is told either way."""
    if purpose(doc) is PaymentPurpose.TOP_UP:
        if captured:
            wallet(tx, doc, LedgerOp.CREDIT, EntryReason.TOP_UP, f"{doc['_id']}:top-up")
    else:
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
    notify(tx, doc, PaymentRequestType.CHARGE, captured, error_msg, at, doc["amount"])


def refunded(tx: Tx, doc: Doc, at: datetime, amount: int, reason: str | None = None) -> None:
    notify(tx, doc, PaymentRequestType.REVERSE, True, None, at, amount, reason)
    if doc.get("reverseReply"):
        reply(tx, doc["orderId"], RequestType.REVERSE, SagaResponse.SUCCESS)


def notify(
    tx: Tx,
    doc: Doc,
    kind: PaymentRequestType,
    ok: bool,
    error_msg: str | None,
    at: datetime,
    amount: int | None = None,
    reason: str | None = None,
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
            payment_id=doc["_id"],
            purpose=purpose(doc),
            amount=amount,
            currency=doc["currency"],
            reason=reason,
        ),
        key=doc["orderId"],
    )


def billing(
    tx: Tx,
    doc: Doc,
    op: LedgerOp,
    reason: EntryReason,
    request_id: str,
    amount: int | None = None,
) -> None:
    """Ask billing to move money of the account `doc` was paid from (or tops up)."""
    kind = AccountKind.GIFT_CARD if doc["method"] == TokenType.GIFT_CARD else AccountKind.WALLET
    account = doc.get("accountId") or doc["username"]
    tx.emit(
        topics.BILLING_REQUESTS,
        BillingRequest(
            request_id=request_id,
            op=op,
            account_kind=kind,
            account_id=account,
            username=doc["username"],
            amount=doc["amount"] if amount is None else amount,
            currency=doc["currency"],
            reason=reason,
            payment_id=doc["_id"],
            order_id=doc["orderId"],
            timestamp=doc["updatedAt"],
        ),
        key=account,
        correlation_id=doc["orderId"],
    )


def wallet(tx: Tx, doc: Doc, op: LedgerOp, reason: EntryReason, request_id: str) -> None:
    """A credit of the payer's wallet (a top-up paid by card or SBP)."""
    billing(
        tx,
        {**doc, "method": TokenType.WALLET, "accountId": doc["username"]},
        op,
        reason,
        request_id,
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
