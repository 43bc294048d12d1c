from __future__ import annotations

from pathlib import Path

from servicekit.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    service_name: str = "notification_svc"
    # the channel adapters: a built-in name ("logging") or "package.module:factory", where
    # factory(settings) returns the adapter (a real gateway plugs in here)
    sms_gateway: str = "logging"
    email_sender: str = "logging"
    # where the logging adapters append what they "send" (sms.jsonl, email.jsonl)
    outbox_dir: Path = Path(".sagashop/sent")
    # the sender loop
    send_poll_seconds: float = 0.2
    send_batch: int = 20
    send_attempts: int = 5
    send_retry_seconds: float = 1.0
    send_timeout_seconds: float = 10.0
    # a claim older than this is taken over (the sender died between sending and recording);
    # keep it well above send_timeout_seconds
    send_lease_seconds: float = 30.0
