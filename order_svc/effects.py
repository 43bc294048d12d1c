"""What an order change tells others, always through the outbox of the same transaction:
the hand-over to orchestra, REVERSE to the participants when a checked-out order is cancelled,
the issue of a paid gift-card order's card, and 003's order notifications."""

from __future__ import annotations

from datetime import datetime

from order_svc import domain
from order_svc.repository import positions_of
from schemas import topics
from schemas.billing import GiftCardIssueRequest
from schemas.notification import Channel, DeliveryType, NotificationType, OrderNotification
from schemas.saga import (
    ConfirmationRequest,
    Confirmator,
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


def hand_over(tx: Tx, doc: Doc) -> None:
    """001 "orders requiring confirmation": the paid order goes to orchestra."""
    tx.emit(
        topics.ORDER_CONFIRMATION_REQUESTS,
        OrderConfirmationRequest(
            order_id=doc["_id"],
            version=doc["version"],
            username=doc["username"],
            order_items=saga_items(doc),
            total=doc["total"],
            currency=doc["currency"],
            delivery=doc.get("delivery"),
            payment_id=doc.get("paymentId"),
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


def notify(tx: Tx, doc: Doc, kind: NotificationType) -> None:
    """003's order notification, by SMS to the phone given at checkout. A gift-card order has
    no checkout and no phone: its buyer hears from payment, its donee from billing."""
    if domain.kind_of(doc) is domain.OrderKind.GIFT_CARD:
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
            }
        ),
        key=doc["_id"],
    )
