"""notification's rules: what each notification says and to whom, who may read it, and what
happens after a send fails."""

from __future__ import annotations

import random as _random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from notification_svc.texts import render_kind
from schemas.auth import AccountNotificationRequest, UserRegistered
from schemas.base import UpperEnum
from schemas.notification import Channel, RegistrationNotification
from servicekit.errors import NotFound

# ids are derived from what the notification is about, so the same cause never queues twice
ID_NAMESPACE = uuid.UUID("5b0f5c1e-2f57-4f0e-9d35-6d0a3c1e9a41")
REDACTED = "***"
Clock = Callable[[], datetime]


class Kind(StrEnum):
    REGISTRATION = "registration"
    VERIFICATION_CODE = "verification_code"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a notification kind, not a password
    ORDER_OUTCOME = "order_outcome"
    PAYMENT_RESULT = "payment_result"
    ORDER_STATUS = "order_status"
    DELIVERY = "delivery"
    GIFT_CARD = "gift_card"


class Status(UpperEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    # the customer turned this channel off: nothing was sent, nothing will be
    SKIPPED = "SKIPPED"


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
    # the SMS gateway's delivery receipt: "delivered" or "failed" (e-mail has none)
    receipt: str | None = None

    @property
    def delivery(self) -> str:
        """How far it got: the receipt's word, else "accepted" once the provider took it."""
        if self.receipt:
            return self.receipt
        return "accepted" if self.status is Status.SENT else self.status.value.lower()

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def visible_to(self, username: str, is_admin: bool) -> bool:
        return is_admin or self.username == username

    def redact(self, text: str) -> str:
        return text.replace(self.secret, REDACTED) if self.secret else text

    def failed(self, error: str) -> Notification:
        return replace(self, status=Status.FAILED, error=error, secret=None, due_at=None)

    def respecting(self, channels: frozenset[Channel] | None) -> Notification:
        """Skipped when the customer turned its channel off, unless they must get it."""
        if channels is None or self.channel in channels or must_get(self) or self.due_at is None:
            return self
        return replace(
            self,
            status=Status.SKIPPED,
            error="channel turned off by the customer",
            secret=None,
            due_at=None,
        )


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
    html: str = ""


def render(n: Notification) -> Message:
    """The notification's words, from its kind's template (notification_svc/templates)."""
    rendered = render_kind(n.kind.value, n.payload, n.secret, n.expires_at)
    return Message(n.to, rendered.subject, rendered.text, rendered.html)


def must_get(n: Notification) -> bool:
    """A message the customer's channel choice does not stop: codes, reset links, gift cards
    (the donee chose nothing) and a pickup notice (it says where the order waits)."""
    if n.kind in (Kind.VERIFICATION_CODE, Kind.PASSWORD_RESET, Kind.GIFT_CARD):
        return True
    return n.kind is Kind.DELIVERY and "pickupPointDelivery" in n.payload


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
    """A failed send is tried again after a delay that doubles per attempt, up to a cap, with
    a random part (jitter: many messages failing at once do not come back all at once);
    after `attempts` attempts, or once the next try would fall later than `give_up_after`
    since the notification was made, the failure is final and keeps its reason."""

    attempts: int = 5
    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)
    give_up_after: timedelta = timedelta(hours=1)
    jitter: float = 0.25  # up to this share of the delay is added at random
    random: Callable[[], float] = field(default=_random.random, compare=False)

    def delay(self, attempts_made: int) -> timedelta:
        return min(self.first_delay * 2 ** max(attempts_made - 1, 0), self.max_delay)

    def after_failure(
        self, attempts_made: int, error: str, now: datetime, created_at: datetime | None = None
    ) -> Retry | Failed:
        if attempts_made >= self.attempts:
            return Failed(f"gave up after {attempts_made} attempts: {error}")
        delay = self.delay(attempts_made)
        at = now + delay + delay * (self.jitter * self.random())
        if created_at is not None and at - created_at > self.give_up_after:
            return Failed(f"gave up after {attempts_made} attempts in {now - created_at}: {error}")
        return Retry(error, at)
