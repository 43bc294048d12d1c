"""Sending a notification: the channel adapters (the logging stand-ins and the in-memory fake)
and one send attempt's outcome."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notification_svc.adapters import (
    Channels,
    FakeProvider,
    LoggingEmailSender,
    LoggingSmsGateway,
    PermanentSendError,
    configured_channels,
)
from notification_svc.domain import Failed, Retry, RetryPolicy, Sent, account_notification, greeting
from notification_svc.sender import deliver
from notification_svc.settings import NotificationSettings
from schemas.auth import AccountNotificationRequest, UserRegistered

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
USER = UserRegistered(
    username="ivan", first_name="Ivan", last_name="P", email="i@ex.ru", phone="+79001234567"
)
GREETING = greeting(USER, uuid.uuid4(), NOW)


def lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def written(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_the_logging_gateway_writes_one_json_line_per_sms_and_answers_its_id(
    tmp_path: Path,
) -> None:
    provider_id = await LoggingSmsGateway(tmp_path).send_sms("+79001234567", "hello", "n-1")
    [line] = lines(tmp_path / "sms.jsonl")
    assert line["providerId"] == provider_id
    assert (line["to"], line["text"], line["idempotencyKey"]) == ("+79001234567", "hello", "n-1")


async def test_the_logging_gateway_sends_once_per_key_even_from_another_process(
    tmp_path: Path,
) -> None:
    first, restarted = LoggingSmsGateway(tmp_path), LoggingSmsGateway(tmp_path)
    provider_id = await first.send_sms("+79001234567", "hello", "n-1")
    assert await restarted.send_sms("+79001234567", "hello", "n-1") == provider_id
    assert await first.send_sms("+79001234567", "hello", "n-1") == provider_id
    await restarted.send_sms("+79001234567", "hello again", "n-2")
    assert await first.send_sms("+79001234567", "hello again", "n-2") != provider_id
    assert [line["idempotencyKey"] for line in lines(tmp_path / "sms.jsonl")] == ["n-1", "n-2"]


async def test_the_logging_adapters_refuse_an_address_they_cannot_deliver_to_for_good(
    tmp_path: Path,
) -> None:
    with pytest.raises(PermanentSendError):
        await LoggingSmsGateway(tmp_path).send_sms("call me maybe", "hello", "n-1")
    with pytest.raises(PermanentSendError):
        await LoggingEmailSender(tmp_path).send_email("nobody", "hi", "hello", "n-2")
    assert written(tmp_path) == []


def test_the_channels_are_chosen_by_configuration(tmp_path: Path) -> None:
    settings = NotificationSettings(outbox_dir=tmp_path)
    channels = configured_channels(settings)
    assert isinstance(channels.sms, LoggingSmsGateway)
    assert isinstance(channels.email, LoggingEmailSender)
    plugged = NotificationSettings(sms_gateway=f"{__name__}:a_real_gateway", outbox_dir=tmp_path)
    assert isinstance(configured_channels(plugged).sms, FakeProvider)
    with pytest.raises(ValueError, match="unknown adapter"):
        configured_channels(NotificationSettings(email_sender="carrier-pigeon"))


def a_real_gateway(settings: NotificationSettings) -> FakeProvider:
    return FakeProvider()


def fake_channels(fake: FakeProvider) -> Channels:
    return Channels(sms=fake, email=fake)


async def attempt(n, fake: FakeProvider, attempts: int = 3):
    policy = RetryPolicy(attempts=attempts, first_delay=timedelta(seconds=1), random=lambda: 0.0)
    return await deliver(n, fake_channels(fake), policy, lambda: NOW, timeout=1.0)


async def test_a_sent_greeting_is_recorded_with_the_providers_id() -> None:
    fake = FakeProvider()
    outcome = await attempt(GREETING, fake)
    [sms] = fake.sent
    assert outcome == Sent(sms["providerId"], NOW)
    assert (sms["key"], sms["to"], sms["channel"]) == (GREETING.id, USER.phone, "sms")


async def test_a_transient_gateway_failure_is_tried_again_later() -> None:
    fake = FakeProvider(failures=[ConnectionError("gateway away")])
    outcome = await attempt(greeting(USER, uuid.uuid4(), NOW), fake)
    assert outcome == Retry("ConnectionError: gateway away", NOW + timedelta(seconds=1))
    assert fake.sent == []


async def test_a_refused_message_fails_at_once_without_a_retry() -> None:
    fake = FakeProvider(failures=[PermanentSendError("unknown number")])
    assert await attempt(GREETING, fake) == Failed("unknown number")


async def test_a_code_past_its_expiry_is_not_sent() -> None:
    request = AccountNotificationRequest(
        username="ivan",
        kind="verification_code",
        channel="sms",
        user_phone="+79001234567",
        secret="731904",
        expires_at=NOW - timedelta(seconds=1),
    )
    fake = FakeProvider()
    outcome = await attempt(account_notification(request, "m-1", NOW), fake)
    assert outcome == Failed("expired before it could be sent") and fake.sent == []


async def test_a_failure_never_records_the_secret() -> None:
    request = AccountNotificationRequest(
        username="ivan",
        kind="password_reset",
        channel="email",
        user_email="i@ex.ru",
        secret="s3cr3t-token",
        expires_at=NOW + timedelta(minutes=30),
    )
    fake = FakeProvider(failures=[RuntimeError("bad body: code s3cr3t-token")])
    outcome = await attempt(account_notification(request, "m-1", NOW), fake)
    assert isinstance(outcome, Retry) and "s3cr3t-token" not in outcome.error
