"""The launcher's SMTP server (mail_sim) answers Mailpit's read API for what it kept, so the
admin's "Письма" page reads it as it reads Mailpit in compose: an e-mail sent over SMTP with a
text and an HTML part comes back from `/api/v1/messages` (newest first, paged) and
`/api/v1/message/{ID}` with both parts; an unknown ID is a 404 and bad paging a 400."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from launcher.embedded import free_port
from launcher.processes import ServiceProcess
from tests.support.notification_protocols import call

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
async def catcher(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServiceProcess]:
    directory: Path = tmp_path_factory.mktemp("mail_viewer")
    proc = ServiceProcess(
        "mail_sim",
        "notification_svc.smtp_catcher",
        free_port(),
        {
            "SAGASHOP_SMTP_PORT": str(free_port()),
            "SAGASHOP_MAIL_DIR": str(directory / "sent" / "mail"),
            "SAGASHOP_LOG_JSON": "false",
        },
        directory / "mail_sim.log",
    )
    proc.start()
    await proc.wait_ready(60)
    yield proc
    proc.kill()


async def send(catcher: ServiceProcess, to: str, subject: str, text: str, html: str) -> str:
    """One MIME e-mail with a text and an HTML part, as notification_svc writes them; its
    Message-ID without the angle brackets (as Mailpit shows it)."""
    mail = EmailMessage()
    mail["From"] = "SagaShop <shop@sagashop.local>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(uuid.uuid4().hex, "notifications.sagashop")
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    await aiosmtplib.send(mail, hostname="127.0.0.1", port=int(catcher.env["SAGASHOP_SMTP_PORT"]))
    return str(mail["Message-ID"]).strip("<>")


async def listing(catcher: ServiceProcess, **params: str) -> dict[str, Any]:
    status, body = await call("GET", f"{catcher.url}/api/v1/messages", params=params)
    assert status == 200, body
    return dict(body)


def a_recipient() -> str:
    return f"buyer-{uuid.uuid4().hex[:8]}@example.com"


async def test_a_mime_email_sent_over_smtp_is_listed_and_read_back_with_both_parts(
    catcher: ServiceProcess,
):
    to = a_recipient()
    text = "\n".join(("Здравствуйте, Анна!", "Заказ № 1042 оплачен: 12\u00a0345,00\u00a0₽."))
    html = "<!DOCTYPE html><p>Здравствуйте, <b>Анна</b>!</p><p>12\u00a0345,00\u00a0₽</p>"
    message_id = await send(catcher, to, "Заказ № 1042 оплачен", text, html)

    [summary] = [m for m in (await listing(catcher))["messages"] if m["MessageID"] == message_id]
    assert summary["From"] == {"Name": "SagaShop", "Address": "shop@sagashop.local"}
    assert summary["To"] == [{"Name": "", "Address": to}]
    assert summary["Subject"] == "Заказ № 1042 оплачен"
    assert summary["Snippet"] == "Здравствуйте, Анна! Заказ № 1042 оплачен: 12\u00a0345,00\u00a0₽."
    assert summary["Size"] > len(text.encode())
    assert datetime.fromisoformat(summary["Created"]) <= datetime.now(UTC)

    status, full = await call("GET", f"{catcher.url}/api/v1/message/{summary['ID']}")
    assert status == 200, full
    assert full["ID"] == summary["ID"] and full["MessageID"] == message_id
    assert full["From"] == summary["From"] and full["To"] == summary["To"]
    assert full["Subject"] == "Заказ № 1042 оплачен"
    assert full["Text"].strip() == text
    assert full["HTML"].strip() == html
    assert datetime.fromisoformat(full["Date"]).tzinfo is not None


async def test_the_list_is_newest_first_and_paged_by_start_and_limit(catcher: ServiceProcess):
    subjects = [f"Письмо {i} {uuid.uuid4().hex[:6]}" for i in range(3)]
    for subject in subjects:
        await send(catcher, a_recipient(), subject, f"{subject}: текст", f"<p>{subject}</p>")

    first = await listing(catcher, start="0", limit="2")
    second = await listing(catcher, start="2", limit="2")
    assert [m["Subject"] for m in first["messages"]] == [subjects[2], subjects[1]]
    assert second["messages"][0]["Subject"] == subjects[0]
    assert first["count"] == 2 and first["start"] == 0 and second["start"] == 2
    assert first["total"] == second["total"] == first["messages_count"] >= 3


async def test_an_unknown_message_id_answers_404_with_an_error_message(catcher: ServiceProcess):
    for unknown in ("0" * 32, "not-an-id", "..%2F..%2Fmail"):
        status, body = await call("GET", f"{catcher.url}/api/v1/message/{unknown}")
        assert status == 404, body
        assert body["errorMessage"]


async def test_paging_that_is_not_a_whole_number_in_bounds_answers_400(catcher: ServiceProcess):
    for params in ({"start": "-1"}, {"limit": "many"}, {"limit": "100000"}):
        status, body = await call("GET", f"{catcher.url}/api/v1/messages", params=params)
        assert status == 400, (params, body)
        assert body["errorMessage"]
