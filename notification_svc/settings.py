from __future__ import annotations

from pathlib import Path

from servicekit.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    service_name: str = "notification_svc"
    # off every order's way (a notice follows a status, nothing waits for it): an idle consumer
    # parks its fetch 500 ms, not 100 (servicekit.settings), so the first notice after a quiet
    # spell may leave ~80 ms later on average, 250 ms at most, and the idle shop saves about a
    # third of a % of a core here and 0.7-1.1 % in the broker (its 7 topics are the most any
    # consumer scans); once notices come it parks 20 ms like the others (FetchPace)
    kafka_fetch_wait_ms: int = 500
    # the channel adapters: a built-in name ("logging") or "package.module:factory", where
    # factory(settings) returns the adapter (a real gateway plugs in here)
    sms_gateway: str = "logging"
    email_sender: str = "logging"
    # SMTP (`email_sender = "smtp"`): the server, and the shop as the sender
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    shop_name: str = "sagashop"
    shop_email: str = "shop@sagashop.local"
    # the SMS gateway (`sms_gateway = "http"`), and our own edge, where its receipts come,
    # signed with the shared secret (HMAC-SHA256 of the body; empty: receipts are refused)
    sms_url: str = "http://127.0.0.1:8091"
    notification_url: str = "http://127.0.0.1:8083"
    sms_webhook_secret: str = ""
    # where the logging adapters append what they "send" (sms.jsonl, email.jsonl)
    outbox_dir: Path = Path(".sagashop/sent")
    # the sender loop: a new notification is handed to it when its transaction commits, so the
    # poll only finds retries and what a dead process left (a read every poll, idle or not)
    send_poll_seconds: float = 1.0
    send_batch: int = 20
    send_attempts: int = 5
    # after this long since the notification was made a temporary failure is final
    send_give_up_seconds: float = 3600.0
    send_retry_seconds: float = 1.0
    send_timeout_seconds: float = 10.0
    # a claim older than this is taken over (the sender died between sending and recording);
    # keep it well above send_timeout_seconds
    send_lease_seconds: float = 30.0
