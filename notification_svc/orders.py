"""Order-side notifications (SPEC §7): the saga outcome, payment results, 003's order
notifications, delivery notices and gift cards — to which channel, and the id that makes the
same event notify once however often it is delivered (what each says: the templates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from notification_svc.domain import Kind, Notification, notification_id
from schemas.billing import GiftCardDelivery
from schemas.delivery import DeliveryNotification
from schemas.notification import Channel, OrderNotification
from schemas.payment import PaymentNotification
from schemas.saga import SagaNotification


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
    """By SMS; a pickup code is the notification's secret (kept out of the payload and gone
    once sent), and a pickup notice goes out whatever channels the customer chose
    (domain.must_get)."""
    payload = msg.to_wire()
    at_point = payload.get("pickupPointDelivery") or {}
    code = at_point.pop("pickupCode", None)
    return _notice(
        Kind.DELIVERY,
        f"delivery:{message_id}",
        msg.username,
        Channel.SMS,
        phone,
        payload,
        now,
        secret=code,
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
