"""E-mail over SMTP (aiosmtplib): one MIME message per notification, a text and an HTML part,
the shop as sender.

Exactly once across the protocol: the Message-ID is made from the notification id, so a send
repeated after a crash between the server's 250 and our record carries the same Message-ID,
and the receiving side (the launcher's catcher; a real MTA's duplicate suppression) keeps one.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import aiosmtplib

from notification_svc.adapters import PermanentSendError
from notification_svc.settings import NotificationSettings

MESSAGE_ID_DOMAIN = "notifications.sagashop"


def message_id(idempotency_key: str) -> str:
    return f"<{idempotency_key}@{MESSAGE_ID_DOMAIN}>"


def mime(
    sender: str, to: str, subject: str, text: str, html: str, idempotency_key: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(idempotency_key)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def permanent(exc: aiosmtplib.SMTPException) -> bool:
    """A 5xx reply refuses the message for good (unknown mailbox, rejected sender); 4xx,
    a dropped connection or a timeout may pass if tried later."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= r.code < 600 for r in exc.recipients)
    code = getattr(exc, "code", None)
    return isinstance(code, int) and 500 <= code < 600


class SmtpEmailSender:
    def __init__(self, settings: NotificationSettings) -> None:
        self.host, self.port = settings.smtp_host, settings.smtp_port
        self.sender = formataddr((settings.shop_name, settings.shop_email))
        self.username, self.password = settings.smtp_username, settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.timeout = settings.send_timeout_seconds

    async def send_email(
        self, to: str, subject: str, body: str, idempotency_key: str, html: str = ""
    ) -> str:
        msg = mime(self.sender, to, subject, body, html, idempotency_key)
        try:
            await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                username=self.username or None,
                password=self.password or None,
                start_tls=self.starttls,
                tls_context=ssl.create_default_context() if self.starttls else None,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPException as exc:
            if permanent(exc):
                raise PermanentSendError(f"the mail server refused it: {exc}") from exc
            raise
        return str(msg["Message-ID"])
