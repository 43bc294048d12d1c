"""notification's rules: what each notification says and to whom, who may read it, and what
happens after a send fails."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from schemas.auth import AccountNotificationRequest, UserRegistered
from schemas.notification import Channel, RegistrationNotification
from servicekit.errors import NotFound

# ids are derived from what the notification is about, so the same cause never queues twice
ID_NAMESPACE = uuid.UUID("5b0f5c1e-2f57-4f0e-9d35-6d0a3c1e9a41")
REDACTED = "***"
Clock = Callable[[], datetime]


class Kind(StrEnum):
    REGISTRATION = "registration"
    VERIFICATION_CODE = "verification_code"
    PASSWORD_RESET = "password_reset"
    ORDER_OUTCOME = "order_outcome"
    PAYMENT_RESULT = "payment_result"
    ORDER_STATUS = "order_status"
    DELIVERY = "delivery"
    GIFT_CARD = "gift_card"


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class NotificationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("notification not found")


def notification_id(cause: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, cause))


@dataclass(frozen=True)
class Account:
    username: str
    channels: dict[str, str]


def account(user: UserRegistered) -> Account:
    return Account(user.username, {Channel.EMAIL.value: user.email, Channel.SMS.value: user.phone})


@dataclass(frozen=True)
class Notification:
    id: str
    username: str
    channel: Channel
    kind: Kind
    to: str
    payload: dict[str, Any]
    created_at: datetime
    # the code or token to deliver: never in `payload`, dropped once the notification is final
    secret: str | None = None
    expires_at: datetime | None = None
    status: Status = Status.PENDING
    attempts: int = 0
    due_at: datetime | None = None
    sent_at: datetime | None = None
    provider_id: str | None = None
    error: str | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def visible_to(self, username: str, is_admin: bool) -> bool:
        return is_admin or self.username == username

    def redact(self, text: str) -> str:
        return text.replace(self.secret, REDACTED) if self.secret else text

    def failed(self, error: str) -> Notification:
        return replace(self, status=Status.FAILED, error=error, secret=None, due_at=None)


def greeting(user: UserRegistered, promo_id: uuid.UUID, now: datetime) -> Notification:
    """003: the greeting SMS with a promo code, one per user however often the event comes."""
    message = RegistrationNotification(type=Channel.SMS, user_phone=user.phone, promo_id=promo_id)
    return Notification(
        id=notification_id(f"greeting:{user.username}"),
        username=user.username,
        channel=Channel.SMS,
        kind=Kind.REGISTRATION,
        to=user.phone,
        payload=message.to_wire(),
        created_at=now,
        due_at=now,
    )


def account_notification(
    request: AccountNotificationRequest, message_id: str, now: datetime
) -> Notification:
    """A verification code or reset token to the requested channel; without an address for
    that channel it fails at once (nothing to retry)."""
    to = request.user_email if request.channel is Channel.EMAIL else request.user_phone
    notification = Notification(
        id=notification_id(f"{request.kind}:{message_id}"),
        username=request.username,
        channel=request.channel,
        kind=Kind(request.kind.value),
        to=to or "",
        payload={k: v for k, v in request.to_wire().items() if k != "secret"},
        created_at=now,
        secret=request.secret,
        expires_at=request.expires_at,
        due_at=now,
    )
    if not to:
        return notification.failed(f"no {request.channel} address to send to")
    return notification


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str


Text = Callable[[dict[str, Any], str | None], tuple[str, str]]
# the order-side kinds' texts (subject, body), filled in by notification_svc.orders
ORDER_TEXTS: dict[Kind, Text] = {}


def render(n: Notification) -> Message:
    if n.kind in ORDER_TEXTS:
        subject, text = ORDER_TEXTS[n.kind](n.payload, n.secret)
        return Message(n.to, subject, text)
    if n.kind is Kind.REGISTRATION:
        text = f"Welcome to sagashop! Your promo code: {n.payload['promoId']}"
        return Message(n.to, "Welcome to sagashop", text)
    until = f" It is valid until {n.expires_at:%Y-%m-%d %H:%M} UTC." if n.expires_at else ""
    if n.kind is Kind.VERIFICATION_CODE:
        text = f"Your sagashop verification code: {n.secret}.{until}"
        return Message(n.to, "Your sagashop verification code", text)
    text = f"Your sagashop password reset code: {n.secret}.{until} If you did not ask, ignore it."
    return Message(n.to, "Reset your sagashop password", text)


# -- what a send attempt ends in ---------------------------------------------------------
@dataclass(frozen=True)
class Sent:
    provider_id: str
    at: datetime


@dataclass(frozen=True)
class Retry:
    error: str
    at: datetime


@dataclass(frozen=True)
class Failed:
    error: str


Outcome = Sent | Retry | Failed


@dataclass(frozen=True)
class RetryPolicy:
    """A failed send is tried again after a delay that doubles per attempt, up to a cap;
    after `attempts` attempts the failure is final."""

    attempts: int = 5
    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)

    def delay(self, attempts_made: int) -> timedelta:
        return min(self.first_delay * 2 ** max(attempts_made - 1, 0), self.max_delay)

    def after_failure(self, attempts_made: int, error: str, now: datetime) -> Retry | Failed:
        if attempts_made >= self.attempts:
            return Failed(f"gave up after {attempts_made} attempts: {error}")
        return Retry(error, now + self.delay(attempts_made))
