"""notification's rules: what is sent to whom, who may read it, and what follows a failure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from notification_svc.domain import (
    Failed,
    Kind,
    Retry,
    RetryPolicy,
    Status,
    account,
    account_notification,
    greeting,
    render,
)
from schemas.auth import AccountNotificationRequest, UserRegistered
from schemas.billing import GiftCardDelivery
from schemas.notification import Channel, RegistrationNotification

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
PROMO = uuid.UUID("2f1c6c1e-8d2b-4c7e-9a5b-3e4f5a6b7c8d")


def user(username: str = "ivan", phone: str = "+79001234567") -> UserRegistered:
    return UserRegistered(
        username=username, first_name="Ivan", last_name="Petrov", email="i@ex.ru", phone=phone
    )


def code_request(**overrides: object) -> AccountNotificationRequest:
    fields: dict[str, object] = {
        "username": "ivan",
        "kind": "verification_code",
        "channel": "email",
        "user_email": "i@ex.ru",
        "secret": "731904",
        "expires_at": NOW + timedelta(minutes=10),
    }
    return AccountNotificationRequest.model_validate({**fields, **overrides})


def test_a_notification_account_has_the_users_email_and_phone_as_channels() -> None:
    assert account(user()).channels == {"email": "i@ex.ru", "sms": "+79001234567"}


def test_the_greeting_is_a_pending_sms_to_the_users_phone_carrying_the_003_message() -> None:
    n = greeting(user(), PROMO, NOW)
    assert (n.channel, n.kind, n.to, n.status, n.due_at) == (
        Channel.SMS,
        Kind.REGISTRATION,
        "+79001234567",
        Status.PENDING,
        NOW,
    )
    message = RegistrationNotification.model_validate(n.payload)
    assert (message.type, message.user_phone, message.promo_id) == (
        Channel.SMS,
        "+79001234567",
        PROMO,
    )


def test_every_registration_event_of_a_user_names_the_same_greeting() -> None:
    first = greeting(user(), PROMO, NOW)
    again = greeting(user(), uuid.uuid4(), NOW + timedelta(hours=1))
    other = greeting(user("petr"), PROMO, NOW)
    assert first.id == again.id != other.id


def test_the_greeting_text_gives_the_promo_code() -> None:
    assert str(PROMO) in render(greeting(user(), PROMO, NOW)).text


def test_a_code_goes_to_the_requested_channel_and_its_secret_stays_out_of_the_payload() -> None:
    n = account_notification(code_request(), "msg-1", NOW)
    assert (n.channel, n.kind, n.to, n.status) == (
        Channel.EMAIL,
        Kind.VERIFICATION_CODE,
        "i@ex.ru",
        Status.PENDING,
    )
    assert n.secret == "731904" and "secret" not in n.payload
    assert "731904" not in str(n.payload)
    assert n.payload["expiresAt"].startswith("2026-11-24T10:10")


def test_each_code_request_is_a_notification_of_its_own() -> None:
    assert (
        account_notification(code_request(), "msg-1", NOW).id
        != account_notification(code_request(), "msg-2", NOW).id
    )


def test_a_code_for_a_channel_without_an_address_fails_at_once_and_forgets_the_secret() -> None:
    n = account_notification(code_request(channel="sms"), "msg-1", NOW)
    assert (n.status, n.error, n.secret, n.due_at) == (
        Status.FAILED,
        "no sms address to send to",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("kind", "subject"),
    [("verification_code", "Код подтверждения"), ("password_reset", "Сброс пароля")],
)
def test_a_code_message_carries_its_secret_and_expiry(kind: str, subject: str) -> None:
    message = render(account_notification(code_request(kind=kind), "msg-1", NOW))
    assert "731904" in message.text and "24.11.2026 10:10 UTC" in message.text
    assert "731904" in message.html
    assert subject in message.subject and message.to == "i@ex.ru"


def test_an_error_text_is_redacted_of_the_secret() -> None:
    n = account_notification(code_request(), "msg-1", NOW)
    assert n.redact("gateway said: bad text 'code 731904'") == "gateway said: bad text 'code ***'"


def test_a_code_expires_at_its_expiry_and_a_greeting_never() -> None:
    code = account_notification(code_request(), "msg-1", NOW)
    assert not code.expired(NOW + timedelta(minutes=9))
    assert code.expired(NOW + timedelta(minutes=10))
    assert not greeting(user(), PROMO, NOW).expired(NOW + timedelta(days=365))


def test_only_the_owner_or_an_admin_may_see_a_notification() -> None:
    n = greeting(user("ivan"), PROMO, NOW)
    assert n.visible_to("ivan", is_admin=False)
    assert n.visible_to("boss", is_admin=True)
    assert not n.visible_to("petr", is_admin=False)


def test_retry_delay_doubles_per_attempt_up_to_its_cap() -> None:
    policy = RetryPolicy(attempts=10, first_delay=timedelta(seconds=1), max_delay=timedelta(days=1))
    assert [policy.delay(n).total_seconds() for n in range(1, 7)] == [1, 2, 4, 8, 16, 32]
    capped = RetryPolicy(attempts=10, first_delay=timedelta(seconds=1))
    assert capped.delay(20) == timedelta(minutes=5)


def test_a_failure_is_retried_later_until_the_last_attempt_then_final() -> None:
    policy = RetryPolicy(attempts=3, first_delay=timedelta(seconds=2), random=lambda: 0.0)
    assert policy.after_failure(1, "timeout", NOW) == Retry("timeout", NOW + timedelta(seconds=2))
    assert policy.after_failure(2, "timeout", NOW) == Retry("timeout", NOW + timedelta(seconds=4))
    assert policy.after_failure(3, "timeout", NOW) == Failed("gave up after 3 attempts: timeout")


def test_a_retry_comes_back_a_random_part_later_so_failures_at_once_do_not_retry_at_once():
    def at(draw: float) -> datetime:
        policy = RetryPolicy(first_delay=timedelta(seconds=4), jitter=0.25, random=lambda: draw)
        outcome = policy.after_failure(1, "timeout", NOW)
        assert isinstance(outcome, Retry)
        return outcome.at

    assert at(0.0) == NOW + timedelta(seconds=4)
    assert at(1.0) == NOW + timedelta(seconds=5)
    assert NOW + timedelta(seconds=4) < at(0.5) < NOW + timedelta(seconds=5)


def test_a_temporary_failure_becomes_final_once_the_next_try_is_past_the_give_up_time():
    policy = RetryPolicy(
        attempts=100, first_delay=timedelta(minutes=1), give_up_after=timedelta(minutes=10)
    )
    made = NOW - timedelta(minutes=9, seconds=30)
    outcome = policy.after_failure(2, "451 try again later", NOW, made)
    assert isinstance(outcome, Failed) and "451 try again later" in outcome.error
    assert isinstance(policy.after_failure(2, "451", NOW, NOW), Retry)


def test_a_channel_the_customer_turned_off_skips_a_notice_but_not_a_must_get_message():
    from notification_svc import orders
    from schemas.saga import SagaNotification

    outcome = SagaNotification.model_validate(
        {"orderId": "o-3", "username": "ivan", "response": "SUCCESS", "timestamp": NOW}
    )
    notice = orders.outcome(outcome, "i@ex.ru", NOW)
    sms_only = frozenset({Channel.SMS})
    assert notice.respecting(sms_only).status == Status.SKIPPED
    assert notice.respecting(None) == notice
    assert notice.respecting(frozenset({Channel.EMAIL})) == notice
    code = account_notification(code_request(), "msg-9", NOW)
    assert code.respecting(sms_only) == code


def test_order_side_notifications_say_what_happened_and_notify_once_per_event():
    from notification_svc import orders
    from schemas.notification import OrderNotification
    from schemas.saga import SagaNotification

    outcome = SagaNotification.model_validate(
        {"orderId": "o-1", "username": "ivan", "response": "FAIL", "timestamp": NOW}
    )
    first = orders.outcome(outcome, "ivan@example.com", NOW)
    again = orders.outcome(outcome, "ivan@example.com", NOW)
    assert first.id == again.id
    assert "отменён" in render(first).text and "деньги вернутся" in render(first).text

    paid = OrderNotification.model_validate(
        {
            "type": "sms",
            "userPhone": "+79990001122",
            "notificationType": "success_payment",
            "orderNum": "o-1",
            "orderItems": [{"name": "Bike", "cost": 100}],
            "deliveryType": "selfdelivery",
            "username": "ivan",
        }
    )
    note = orders.order_status(paid, NOW)
    assert (note.username, note.to) == ("ivan", "+79990001122")
    assert render(note).text.splitlines() == [
        "Заказ o-1 оплачен",
        "- Bike: 1,00\u00a0₽",
        "Итого: 1,00\u00a0₽",
        "Доставка: самовывоз",
    ]


def test_a_notice_without_an_address_fails_at_once_instead_of_retrying():
    from notification_svc import orders
    from schemas.saga import SagaNotification

    outcome = SagaNotification.model_validate(
        {"orderId": "o-2", "username": "ghost", "response": "SUCCESS", "timestamp": NOW}
    )
    assert orders.outcome(outcome, None, NOW).status == "FAILED"


def gift_delivery(**overrides: object) -> GiftCardDelivery:
    body = {
        "giftCardNumber": "GC-1000-2000",
        "activationCode": "K7QF-9M2X-PL4D",
        "doneeFirstName": "Ivan",
        "doneeEmail": "ivan@example.com",
        "amount": 300_000,
        "currency": "RUB",
        "design": "birthday",
        "orderId": "o-7",
        **overrides,
    }
    return GiftCardDelivery.model_validate(body)


def test_a_gift_card_e_mails_the_donee_its_activation_code_kept_out_of_the_payload():
    from notification_svc import orders

    note = orders.gift_card(gift_delivery(), NOW)
    assert (note.channel, note.to, note.secret) == (
        Channel.EMAIL,
        "ivan@example.com",
        "K7QF-9M2X-PL4D",
    )
    assert "K7QF-9M2X-PL4D" not in str(note.payload)
    assert note.payload["giftCardNumber"] == "GC-1000-2000"
    text = render(note).text
    assert "Код активации: K7QF-9M2X-PL4D" in text and "GC-1000-2000" in text
    assert "3\u00a0000,00\u00a0₽" in text and "С днём рождения" in text


def test_an_old_gift_card_message_without_a_code_sends_its_number_as_the_code():
    from notification_svc import orders

    note = orders.gift_card(gift_delivery(activationCode=None), NOW)
    assert note.secret == "GC-1000-2000"
    assert "GC-1000-2000" not in str(note.payload)
    assert render(note).text.endswith("Код активации: GC-1000-2000")


def test_a_gift_card_notifies_once_per_card_whatever_its_code():
    from notification_svc import orders

    first = orders.gift_card(gift_delivery(), NOW)
    again = orders.gift_card(gift_delivery(activationCode="OTHER-CODE"), NOW)
    other = orders.gift_card(gift_delivery(giftCardNumber="GC-3"), NOW)
    assert first.id == again.id != other.id
