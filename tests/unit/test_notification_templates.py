"""Every notification kind's template (notification_svc/templates) renders in Russian, with
what the customer needs: subject, text and HTML parts, amounts in rubles, codes, addresses;
and the SMTP message built from it is proper MIME with a Message-ID from the notification."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest

from notification_svc.smtp import message_id, mime, permanent
from notification_svc.texts import render_kind, rub

EXPIRES = datetime(2026, 11, 24, 10, 10, tzinfo=UTC)
ITEMS = [{"name": "Велосипед", "cost": 1_234_500}, {"name": "Звонок", "cost": 9_950}]


def order_status(kind: str) -> dict[str, Any]:
    return {
        "notificationType": kind,
        "orderNum": "A-17",
        "orderItems": ITEMS,
        "deliveryType": "courier",
        "deliveryAddress": {"fullAddress": "Москва, Тверская, 1"},
    }


def payment(request_type: str, response: str, **more: Any) -> dict[str, Any]:
    return {
        "orderId": "o-5",
        "requestType": request_type,
        "tokenType": "CARD",
        "maskedTokenId": "**** 4242",
        "response": response,
        "amount": 150_000,
        **more,
    }


PICKUP = {"pointId": 12, "address": "Москва, Арбат, 5", "availDate": "2026-11-26"}
HOME = {
    "homeAddress": "Москва, Тверская, 1",
    "deliveryDate": "2026-11-27",
    "timeSlot": {"beginTime": "10:00:00", "endTime": "14:00:00"},
}
GIFT = {"doneeFirstName": "Мария", "giftCardNumber": "GC-1", "amount": 300_000, "design": "flowers"}

# kind, payload, secret: what must appear in the subject, and in both the text and HTML parts
CASES: list[tuple[str, dict[str, Any], str | None, str, list[str]]] = [
    ("registration", {"promoId": "2f1c6c1e"}, None, "Добро пожаловать", ["2f1c6c1e"]),
    ("verification_code", {}, "731904", "Код подтверждения", ["731904", "24.11.2026 10:10"]),
    ("password_reset", {}, "RST-9", "Сброс пароля", ["RST-9", "24.11.2026 10:10"]),
    ("order_outcome", {"orderId": "o-1", "response": "SUCCESS"}, None, "подтверждён", ["o-1"]),
    ("order_outcome", {"orderId": "o-2", "response": "FAIL"}, None, "отменён", ["вернутся"]),
    ("payment_result", payment("CHARGE", "SUCCESS"), None, "успешно", ["1\u00a0500,00\u00a0₽"]),
    (
        "payment_result",
        payment("CHARGE", "FAIL", errorMsg="карта отклонена"),
        None,
        "не прошла",
        ["карта отклонена", "**** 4242"],
    ),
    (
        "payment_result",
        payment("REVERSE", "SUCCESS", reason="брак"),
        None,
        "Возврат",
        ["брак", "1\u00a0500,00\u00a0₽"],
    ),
    (
        "payment_result",
        payment("CHARGE", "SUCCESS", purpose="TOP_UP"),
        None,
        "пополнения кошелька",
        ["o-5"],
    ),
    ("order_status", order_status("requires_payment"), None, "ожидает оплаты", ["Велосипед"]),
    ("order_status", order_status("success_payment"), None, "оплачен", ["12\u00a0444,50\u00a0₽"]),
    ("order_status", order_status("completed"), None, "выполнен", ["Москва, Тверская, 1"]),
    (
        "delivery",
        {"orderId": "o-3", "pickupPointDelivery": PICKUP},
        None,
        "пункте выдачи",
        ["Арбат", "26.11.2026"],
    ),
    (
        "delivery",
        {"orderId": "o-4", "homeDelivery": HOME},
        None,
        "в пути",
        ["27.11.2026", "10:00", "14:00"],
    ),
    (
        "gift_card",
        GIFT,
        "K7QF-9M2X",
        "подарочная карта",
        ["K7QF-9M2X", "3\u00a0000,00\u00a0₽", "«Цветы»"],
    ),
]


@pytest.mark.parametrize(("kind", "payload", "secret", "subject", "facts"), CASES)
def test_every_kind_renders_a_russian_subject_text_and_html_with_its_facts(
    kind: str, payload: dict[str, Any], secret: str | None, subject: str, facts: list[str]
) -> None:
    rendered = render_kind(kind, payload, secret, EXPIRES)
    assert subject in rendered.subject and "\n" not in rendered.subject
    for fact in facts:
        assert fact in rendered.text and fact in rendered.html, fact
    assert rendered.html.startswith("<!DOCTYPE html>") and 'lang="ru"' in rendered.html


def test_html_escapes_what_came_from_outside_and_the_text_part_keeps_it_as_typed() -> None:
    body = order_status("completed") | {"orderItems": [{"name": "Чай <b>&</b>", "cost": 100}]}
    rendered = render_kind("order_status", body, None, None)
    assert "Чай <b>&</b>" in rendered.text
    assert "Чай &lt;b&gt;&amp;&lt;/b&gt;" in rendered.html


def test_rubles_are_written_the_russian_way() -> None:
    assert rub(0) == "0,00\u00a0₽"
    assert rub(5) == "0,05\u00a0₽"
    assert rub(123_456_789) == "1\u00a0234\u00a0567,89\u00a0₽"


def test_the_email_is_mime_with_a_text_and_an_html_part_from_the_shop() -> None:
    msg = mime("sagashop <shop@sagashop.local>", "i@ex.ru", "Тема", "текст", "<p>html</p>", "n-1")
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Message-ID"] == message_id("n-1") == "<n-1@notifications.sagashop>"
    assert (parsed["From"], parsed["To"], parsed["Subject"]) == (
        "sagashop <shop@sagashop.local>",
        "i@ex.ru",
        "Тема",
    )
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and text.get_content().strip() == "текст"
    assert html is not None and html.get_content().strip() == "<p>html</p>"


def test_a_5xx_refusal_is_permanent_and_4xx_or_a_lost_connection_is_not() -> None:
    assert permanent(
        aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no", "a@b")])
    )
    assert not permanent(
        aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(451, "later", "a@b")])
    )
    assert permanent(aiosmtplib.SMTPDataError(554, "rejected"))
    assert not permanent(aiosmtplib.SMTPDataError(451, "try again"))
    assert not permanent(aiosmtplib.SMTPServerDisconnected("dropped"))
