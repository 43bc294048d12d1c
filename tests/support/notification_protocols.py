"""notification_svc sending through the real protocols, for its integration tests: the
launcher's SMTP server (mail_sim), the SMS gateway simulator (sms_sim) and a notification_svc
wired to both, each its own process; and readers of what arrived there."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from launcher.embedded import free_port
from launcher.processes import ServiceProcess
from notification_svc.kept_mail import mails_to
from tests.support.infra import Infra
from tests.support.kafka import eventually


@dataclass
class Protocols:
    mail: ServiceProcess
    sms: ServiceProcess
    notification: ServiceProcess
    sent: Path  # what notification_svc.kept_mail reads: sent/mail/*.eml


def start(infra: Infra, directory: Path, auth_url: str) -> Protocols:
    secret, smtp_port = secrets.token_hex(16), str(free_port())
    sent = directory / "sent"
    common = {**infra.env(), "SAGASHOP_LOG_JSON": "false", "SAGASHOP_SMS_WEBHOOK_SECRET": secret}
    mail = ServiceProcess(
        "mail_sim",
        "notification_svc.smtp_catcher",
        free_port(),
        {**common, "SAGASHOP_SMTP_PORT": smtp_port, "SAGASHOP_MAIL_DIR": str(sent / "mail")},
        directory / "mail_sim.log",
    )
    sms = ServiceProcess(
        "sms_sim",
        "notification_svc.sms_gateway",
        free_port(),
        {**common, "SAGASHOP_SMS_STATE": str(sent / "sms-gateway.jsonl")},
        directory / "sms_sim.log",
    )
    port = free_port()
    notification = ServiceProcess(
        f"notification-{secrets.token_hex(4)}",
        "notification_svc",
        port,
        {
            **common,
            "SAGASHOP_EMAIL_SENDER": "smtp",
            "SAGASHOP_SMTP_PORT": smtp_port,
            "SAGASHOP_SMS_GATEWAY": "http",
            "SAGASHOP_SMS_URL": sms.url,
            "SAGASHOP_NOTIFICATION_URL": f"http://127.0.0.1:{port}",
            "SAGASHOP_AUTH_URL": auth_url,
            "SAGASHOP_SEND_RETRY_SECONDS": "0.2",
            "SAGASHOP_SEND_LEASE_SECONDS": "2",
        },
        directory / "notification.log",
    )
    for proc in (mail, sms, notification):
        proc.start()
    return Protocols(mail, sms, notification, sent)


async def call(method: str, url: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, json=body, **kw) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def configure(proc: ServiceProcess, **config: Any) -> dict[str, Any]:
    status, body = await call("PUT", f"{proc.url}/config", config)
    assert status == 200, body
    return dict(body)


async def mail_to(sent: Path, address: str, count: int = 1) -> list[dict[str, Any]]:
    """The e-mails kept for `address`, once there are `count` of them."""

    async def arrived() -> list[dict[str, Any]] | None:
        found = mails_to(sent, address)
        return found if len(found) >= count else None

    return list(await eventually(arrived, timeout=30))


async def sms_to(sms: ServiceProcess, phone: str) -> list[dict[str, Any]]:
    status, rows = await call("GET", f"{sms.url}/messages", params={"to": phone})
    assert status == 200
    return list(rows)
