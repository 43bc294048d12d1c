"""Order-side notifications (SPEC §7): the saga outcome, payment results, 003's order
notifications, delivery notices and gift cards — what each says, to which channel, and the
id that makes the same event notify once however often it is delivered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from notification_svc.domain import ORDER_TEXTS, Kind, Notification, notification_id
from schemas.billing import GiftCardDelivery
from schemas.delivery import DeliveryNotification
from schemas.notification import Channel, OrderNotification
from schemas.payment import PaymentNotification, PaymentRequestType
from schemas.saga import SagaNotification, SagaResponse


def _outcome(p: dict[str, Any], _: str | None) -> tuple[str, str]:
    if p["response"] == SagaResponse.SUCCESS:
        return "Your order is confirmed", f"Order {p['orderId']} is confirmed and being prepared."
    return (
        "Your order was cancelled",
        f"Order {p['orderId']} could not be confirmed and was cancelled; any payment is refunded.",
    )


def _payment(p: dict[str, Any], _: str | None) -> tuple[str, str]:
    what = "Refund" if p["requestType"] == PaymentRequestType.REVERSE else "Payment"
    means = f"{p['tokenType']} {p['maskedTokenId']}"
    if p["response"] == SagaResponse.SUCCESS:
        return f"{what} succeeded", f"{what} for order {p['orderId']} by {means} succeeded."
    return (
        f"{what} failed",
        f"{what} for order {p['orderId']} by {means} failed: {p.get('errorMsg', '')}",
    )


def _order_status(p: dict[str, Any], _: str | None) -> tuple[str, str]:
    said = {
        "requires_payment": "awaits your payment",
        "success_payment": "is paid",
        "completed": "is completed. Thank you!",
    }[p["notificationType"]]
    return f"Order {p['orderNum']}", f"Order {p['orderNum']} {said}"


def _delivery(p: dict[str, Any], _: str | None) -> tuple[str, str]:
    if pickup := p.get("pickupPointDelivery"):
        return (
            "Your order is at the pickup point",
            f"Order {p['orderId']} awaits you at {pickup['address']} from {pickup['availDate']}.",
        )
    home = p["homeDelivery"]
    slot = home["timeSlot"]
    return (
        "Your order is on its way",
        f"Order {p['orderId']} comes to {home['homeAddress']} on {home['deliveryDate']} "
        f"between {slot['beginTime']} and {slot['endTime']}.",
    )


def _gift_card(p: dict[str, Any], secret: str | None) -> tuple[str, str]:
    card = f" No. {p['giftCardNumber']}" if "giftCardNumber" in p else ""
    worth = f" worth {p['amount'] / 100:.2f} {p.get('currency', 'RUB')}" if "amount" in p else ""
    return (
        "A gift card for you",
        f"{p['doneeFirstName']}, you have a sagashop gift card{card}{worth}. "
        f"Activation code: {secret}",
    )


ORDER_TEXTS.update(
    {
        Kind.ORDER_OUTCOME: _outcome,
        Kind.PAYMENT_RESULT: _payment,
        Kind.ORDER_STATUS: _order_status,
        Kind.DELIVERY: _delivery,
        Kind.GIFT_CARD: _gift_card,
    }
)


def _notice(
    kind: Kind,
    cause: str,
    username: str,
    channel: Channel,
    to: str | None,
    payload: dict[str, Any],
    now: datetime,
    secret: str | None = None,
) -> Notification:
    n = Notification(
        id=notification_id(cause),
        username=username,
        channel=channel,
        kind=kind,
        to=to or "",
        payload=payload,
        created_at=now,
        secret=secret,
        due_at=now,
    )
    return n if to else n.failed(f"no {channel} address for {username}")


def outcome(msg: SagaNotification, email: str | None, now: datetime) -> Notification:
    """One per order: the saga ends once."""
    return _notice(
        Kind.ORDER_OUTCOME,
        f"outcome:{msg.order_id}",
        msg.username,
        Channel.EMAIL,
        email,
        msg.to_wire(),
        now,
    )


def payment(
    msg: PaymentNotification, message_id: str, email: str | None, now: datetime
) -> Notification:
    """Each attempt's result by e-mail (scenario 6); one per payment message."""
    return _notice(
        Kind.PAYMENT_RESULT,
        f"payment:{message_id}",
        msg.username,
        Channel.EMAIL,
        email,
        msg.to_wire(),
        now,
    )


def order_status(msg: OrderNotification, now: datetime) -> Notification:
    """003's order notification, once per (order, notification type)."""
    to = msg.user_phone if msg.type is Channel.SMS else msg.user_email
    return _notice(
        Kind.ORDER_STATUS,
        f"order:{msg.order_num}:{msg.notification_type}",
        msg.username or to or "unknown",
        msg.type,
        to,
        msg.to_wire(),
        now,
    )


def delivery(
    msg: DeliveryNotification, message_id: str, phone: str | None, now: datetime
) -> Notification:
    return _notice(
        Kind.DELIVERY,
        f"delivery:{message_id}",
        msg.username,
        Channel.SMS,
        phone,
        msg.to_wire(),
        now,
    )


def gift_card(msg: GiftCardDelivery, now: datetime) -> Notification:
    """The activation code goes to the donee; it is a secret, kept out of the payload. A message
    from before billing sent codes carries only the number, which then is the code."""
    secret = msg.activation_code or msg.gift_card_number
    hidden = {"activationCode"} if msg.activation_code else {"activationCode", "giftCardNumber"}
    payload = {k: v for k, v in msg.to_wire().items() if k not in hidden}
    return _notice(
        Kind.GIFT_CARD,
        f"gift:{msg.gift_card_number}",
        str(msg.donee_email),
        Channel.EMAIL,
        str(msg.donee_email),
        payload,
        now,
        secret=secret,
    )
