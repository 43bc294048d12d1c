"""What an order change tells others, always through the outbox of the same transaction:
the hand-over to orchestra (and the holds kept meanwhile), cancellations of handed-over orders
to orchestra, REVERSE to the participants when an order not yet handed over is cancelled, the
issue of a paid gift-card order's card, and 003's order notifications."""

from __future__ import annotations

from datetime import datetime, timedelta

from order_svc import domain
from order_svc.repository import positions_of
from schemas import topics
from schemas.billing import GiftCardIssueRequest
from schemas.fulfilment import CancellationKind, HoldExtension, OrderCancellation
from schemas.notification import Channel, DeliveryType, NotificationType, OrderNotification
from schemas.saga import (
    ConfirmationRequest,
    Confirmator,
    Disposition,
    OrderConfirmationRequest,
    OrderItem,
    RequestType,
)
from servicekit.mongo import Doc
from servicekit.unit import Tx

REVERSE_TOPICS = {
    Confirmator.STORE: topics.STORE_CONFIRMATIONS,
    Confirmator.DELIVERY: topics.DELIVERY_CONFIRMATIONS,
    Confirmator.PAYMENT: topics.PAYMENT_CONFIRMATIONS,
}


def saga_items(doc: Doc) -> tuple[OrderItem, ...]:
    return tuple(
        OrderItem(
            id=p.id,
            product_id=p.product_id,
            product_name=p.name,
            product_price=p.price,
            quantity=p.quantity,
        )
        for p in positions_of(doc)
    )


def _saga_fields(doc: Doc) -> dict[str, object]:
    return {
        "order_id": doc["_id"],
        "version": doc["version"],
        "username": doc["username"],
        "order_items": saga_items(doc),
        "total": doc["total"],
        "currency": doc["currency"],
        "delivery": doc.get("delivery"),
        "payment_id": doc.get("paymentId"),
    }


def hand_over(tx: Tx, doc: Doc) -> None:
    """001 "orders requiring confirmation": the paid order goes to orchestra."""
    tx.emit(
        topics.ORDER_CONFIRMATION_REQUESTS,
        OrderConfirmationRequest.model_validate(_saga_fields(doc)),
        key=doc["_id"],
    )


def keep_holds(tx: Tx, doc: Doc, paid_at: datetime, seconds: float) -> None:
    """The order is paid: store and delivery keep its holds while it waits for its saga."""
    until = paid_at + timedelta(seconds=seconds)
    tx.emit(topics.HOLD_EXTENSIONS, HoldExtension(order_id=doc["_id"], until=until), key=doc["_id"])


def ask_cancellation(tx: Tx, doc: Doc, pending: Doc) -> None:
    """A handed-over order is to be undone: orchestra compensates and answers FAIL."""
    tx.emit(
        topics.ORDER_CANCELLATIONS,
        OrderCancellation.model_validate(
            {
                **_saga_fields(doc),
                "reason": pending["reason"],
                "by": pending["by"],
                "kind": CancellationKind(pending["kind"]),
                "disposition": Disposition(pending["disposition"]),
            }
        ),
        key=doc["_id"],
    )


def release(tx: Tx, doc: Doc, refund: bool, only_payment: bool = False) -> None:
    """A checked-out order was cancelled outside a saga: store and delivery release what they
    hold for it, payment refunds what it captured (REVERSE is safe for what never happened)."""
    for who, topic in REVERSE_TOPICS.items():
        if (who is Confirmator.PAYMENT and not refund) or (
            only_payment and who is not Confirmator.PAYMENT
        ):
            continue
        tx.emit(
            topic,
            ConfirmationRequest(
                order_id=doc["_id"],
                request_type=RequestType.REVERSE,
                confirmator=who,
                order_items=saga_items(doc),
                total=doc["total"],
                username=doc["username"],
                payment_id=doc.get("paymentId"),
            ),
            key=doc["_id"],
        )


def issue_gift_card(tx: Tx, doc: Doc, at: datetime) -> None:
    """A gift-card order was paid: billing issues its card (and e-mails the donee its code)."""
    card = doc["giftCard"]
    tx.emit(
        topics.GIFT_CARD_ISSUES,
        GiftCardIssueRequest(
            order_id=doc["_id"],
            payment_id=doc["paymentId"],
            buyer=doc["username"],
            amount=card["amount"],
            currency=doc["currency"],
            design=card["design"],
            donee_name=card["doneeName"],
            donee_email=card["doneeEmail"],
            timestamp=at,
        ),
        key=doc["_id"],
    )


def notify(tx: Tx, doc: Doc, kind: NotificationType, reason: str | None = None) -> None:
    """003's order notification, by SMS to the phone given at checkout. A gift-card order has
    no checkout and no phone: its buyer hears from payment, its donee from billing; a cart
    (never checked out) has no phone either, and nobody to tell."""
    if domain.kind_of(doc) is domain.OrderKind.GIFT_CARD or not doc.get("phone"):
        return
    delivery = doc.get("delivery") or {}
    courier = delivery.get("type") == "courier"
    tx.emit(
        topics.ORDER_NOTIFICATIONS,
        OrderNotification.model_validate(
            {
                "type": Channel.SMS,
                "userPhone": doc["phone"],
                "userEmail": doc.get("email"),
                "notificationType": kind,
                "orderNum": doc["_id"],
                "orderItems": [
                    {"name": p.name, "cost": p.total, "additionalInfo": f"{p.quantity} x {p.price}"}
                    for p in positions_of(doc)
                ],
                "deliveryType": DeliveryType.COURIER if courier else DeliveryType.SELFDELIVERY,
                "deliveryAddress": {"fullAddress": delivery["address"]} if courier else None,
                "username": doc["username"],
                "reason": reason,
            }
        ),
        key=doc["_id"],
    )
