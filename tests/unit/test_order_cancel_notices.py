"""The order notifications of issue 13 (notificationType cancelled / returned) render in
Russian with the reason and where the money goes, in the subject, the text and the HTML."""

from __future__ import annotations

from typing import Any

import pytest

from notification_svc.texts import render_kind
from schemas.notification import OrderNotification


def notice(kind: str, reason: str | None) -> dict[str, Any]:
    body = {
        "type": "sms",
        "userPhone": "+79161234567",
        "notificationType": kind,
        "orderNum": "A-17",
        "orderItems": [{"name": "Велосипед", "cost": 1_234_500}],
        "deliveryType": "selfdelivery",
        "reason": reason,
    }
    return OrderNotification.model_validate(body).to_wire()


@pytest.mark.parametrize(
    ("kind", "reason", "subject", "facts"),
    [
        ("cancelled", "товар повреждён", "Заказ A-17 отменён", ["товар повреждён", "вернутся"]),
        (
            "cancelled",
            "the order could not be confirmed in time",
            "отменён",
            ["could not be confirmed in time"],
        ),
        (
            "returned",
            "не подошёл размер",
            "Заказ A-17 возвращён",
            ["не подошёл размер", "вернутся"],
        ),
    ],
)
def test_a_cancelled_or_returned_order_is_told_with_its_reason_and_the_refund(
    kind: str, reason: str, subject: str, facts: list[str]
):
    rendered = render_kind("order_status", notice(kind, reason), None, None)
    assert subject in rendered.subject
    for fact in [*facts, "Велосипед", "12\u00a0345,00\u00a0₽"]:
        assert fact in rendered.text and fact in rendered.html, fact


def test_a_cancellation_without_a_reason_says_nothing_of_one():
    rendered = render_kind("order_status", notice("cancelled", None), None, None)
    assert "Причина" not in rendered.text and "отменён" in rendered.subject
