"""The channels to the neighbour systems: an SMS gateway and an e-mail sender.

Every send carries an idempotency key (the notification id): a provider that has seen the key
answers with the first send's id and sends nothing, which closes the window where the sender
died after sending but before recording it. `smtp` (notification_svc.smtp) and `http`
(notification_svc.sms_http) speak the real protocols; the logging adapters append JSON lines
under `outbox_dir` instead; another adapter plugs in by configuration
(`SAGASHOP_SMS_GATEWAY=package.module:factory`).
"""

from __future__ import annotations

import asyncio
import fcntl
import importlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from notification_svc.domain import Message
from notification_svc.settings import NotificationSettings
from schemas.notification import Channel

PHONE = re.compile(r"^\+?\d{10,15}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class PermanentSendError(Exception):
    """The provider refused the message for good (malformed number, unknown mailbox): sending
    it again cannot help. Any other exception from an adapter counts as transient."""


class SmsGateway(Protocol):
    async def send_sms(self, to: str, text: str, idempotency_key: str) -> str:
        """Send; return the provider's message id."""
        ...


class EmailSender(Protocol):
    async def send_email(
        self, to: str, subject: str, body: str, idempotency_key: str, html: str = ""
    ) -> str:
        """Send (`body` the text part, `html` the HTML one); return the provider's message id."""
        ...


@dataclass(frozen=True)
class Channels:
    sms: SmsGateway
    email: EmailSender

    async def send(self, channel: Channel, message: Message, idempotency_key: str) -> str:
        if channel is Channel.SMS:
            return await self.sms.send_sms(message.to, message.text, idempotency_key)
        return await self.email.send_email(
            message.to, message.subject, message.text, idempotency_key, message.html
        )


class JsonLines:
    """An append-only file of sent messages, one line per idempotency key. Several processes
    may share it: checking and appending happen under an exclusive lock on the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sent: dict[str, str] = {}
        self._read_to = 0

    def append_once(self, key: str, record: dict[str, Any]) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            self._catch_up(f)
            if key in self._sent:
                return self._sent[key]
            provider_id = uuid.uuid4().hex
            line = {"providerId": provider_id, "idempotencyKey": key, **record}
            line["sentAt"] = datetime.now(UTC).isoformat()
            f.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
            f.flush()
            self._sent[key], self._read_to = provider_id, f.tell()
            return provider_id

    def _catch_up(self, f: BinaryIO) -> None:
        """Learn the keys other writers appended since we last looked."""
        f.seek(self._read_to)
        data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        for raw in complete.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            self._sent[line["idempotencyKey"]] = line["providerId"]
        self._read_to += len(complete)


class LoggingSmsGateway:
    def __init__(self, directory: Path) -> None:
        self.log = JsonLines(directory / "sms.jsonl")

    async def send_sms(self, to: str, text: str, idempotency_key: str) -> str:
        if not PHONE.match(to):
            raise PermanentSendError("not a phone number the gateway can deliver to")
        record = {"to": to, "text": text}
        return await asyncio.to_thread(self.log.append_once, idempotency_key, record)


class LoggingEmailSender:
    def __init__(self, directory: Path) -> None:
        self.log = JsonLines(directory / "email.jsonl")

    async def send_email(
        self, to: str, subject: str, body: str, idempotency_key: str, html: str = ""
    ) -> str:
        if not EMAIL.match(to):
            raise PermanentSendError("not an e-mail address")
        record = {"to": to, "subject": subject, "body": body}
        return await asyncio.to_thread(self.log.append_once, idempotency_key, record)


@dataclass
class FakeProvider:
    """In memory, for tests: both channels, once per idempotency key; `failures` are raised
    by the next sends, one each, before sending works again."""

    sent: list[dict[str, str]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    async def send_sms(self, to: str, text: str, idempotency_key: str) -> str:
        return self._send(idempotency_key, channel="sms", to=to, text=text)

    async def send_email(
        self, to: str, subject: str, body: str, idempotency_key: str, html: str = ""
    ) -> str:
        return self._send(
            idempotency_key, channel="email", to=to, subject=subject, text=body, html=html
        )

    def _send(self, key: str, **message: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        for done in self.sent:
            if done["key"] == key:
                return done["providerId"]
        self.sent.append({"key": key, "providerId": f"fake-{len(self.sent) + 1}", **message})
        return self.sent[-1]["providerId"]


def http_sms_gateway(settings: NotificationSettings) -> SmsGateway:
    from notification_svc.sms_http import HttpSmsGateway  # it imports this module

    return HttpSmsGateway(settings)


def smtp_email_sender(settings: NotificationSettings) -> EmailSender:
    from notification_svc.smtp import SmtpEmailSender  # it imports this module

    return SmtpEmailSender(settings)


Factory = Callable[[NotificationSettings], Any]
# "logging" appends JSON lines (unit and single-service tests); "http" and "smtp" speak to a
# real gateway and mail server (the launcher's simulators, or the real thing)
SMS_GATEWAYS: dict[str, Factory] = {
    "logging": lambda s: LoggingSmsGateway(s.outbox_dir),
    "http": http_sms_gateway,
}
EMAIL_SENDERS: dict[str, Factory] = {
    "logging": lambda s: LoggingEmailSender(s.outbox_dir),
    "smtp": smtp_email_sender,
}


def load_factory(spec: str, builtin: dict[str, Factory]) -> Factory:
    """A built-in adapter by name, or `package.module:factory`."""
    if spec in builtin:
        return builtin[spec]
    module, sep, name = spec.partition(":")
    if not sep:
        raise ValueError(f"unknown adapter {spec!r}: one of {sorted(builtin)} or 'module:factory'")
    factory: Factory = getattr(importlib.import_module(module), name)
    return factory


def configured_channels(settings: NotificationSettings) -> Channels:
    sms: SmsGateway = load_factory(settings.sms_gateway, SMS_GATEWAYS)(settings)
    email: EmailSender = load_factory(settings.email_sender, EMAIL_SENDERS)(settings)
    return Channels(sms, email)
