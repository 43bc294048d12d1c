"""What the admin's order pages say: how a compensated saga ended (cancelled or returned, from
the order itself) and times in the customer pages' dd.mm.yyyy format (Moscow time)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import pytest

from web_front.admin.timeline import timeline
from web_front.app import create_app

COMPENSATED = {
    "state": "CANCELLED",
    "steps": {"PAYMENT": "REVERSED", "STORE": "REVERSED", "DELIVERY": "REVERSED"},
    "createdAt": "2026-12-04T16:14:00Z",
    "history": [
        {"at": "2026-12-04T16:14:00Z", "event": "started"},
        {"at": "2026-12-04T16:20:00Z", "event": "cancellation asked", "by": "root"},
        {"at": "2026-12-04T16:20:01Z", "event": "compensating"},
        {"at": "2026-12-04T16:20:02Z", "event": "cancelled"},
    ],
}


def last_entry(order: dict[str, Any]) -> str:
    text: str = timeline(COMPENSATED, order)["entries"][-1]["text"]
    return text


def test_a_compensated_saga_of_a_returned_order_says_it_was_returned_and_what_became_of_the_goods():
    written_off = {
        "status": "RETURNED",
        "cancellation": {"kind": "RETURN", "disposition": "WRITE_OFF"},
    }
    assert last_entry(written_off) == "Компенсация завершена: заказ возвращён, товар списан"
    restocked = {"status": "RETURNED", "cancellation": {"disposition": "RESTOCK"}}
    assert (
        last_entry(restocked) == "Компенсация завершена: заказ возвращён, товар возвращён на склад"
    )


def test_a_compensated_saga_of_a_cancelled_order_says_it_was_cancelled():
    assert last_entry({"status": "CANCELLED"}) == "Компенсация завершена: заказ отменён"


def test_before_the_order_takes_the_outcome_in_the_timeline_claims_no_ending():
    assert last_entry({"status": "DELIVERING"}) == "Компенсация завершена"


@pytest.fixture(scope="module")
def templates() -> Any:
    return aiohttp_jinja2.get_env(create_app())


def test_admin_pages_show_times_as_the_customers_pages_do_in_moscow_time(templates: Any):
    actions = [{"at": "2026-12-04T16:14:05.123000Z", "by": "root", "action": "cancel"}]
    page = templates.get_template("admin/actions.html").render(actions=actions)
    assert "04.12.2026 19:14 — " in page and "2026-12-04" not in page
    case = {
        "status": "PICKING",
        "openedAt": "2026-12-04T16:14:05Z",
        "items": [],
        "history": [{"status": "PICKING", "at": "2026-12-04T21:30:00+00:00", "by": "staff"}],
    }
    page = templates.get_template("admin/picking.html").render(c=case, statuses={})
    assert "04.12.2026 19:14" in page and "05.12.2026 00:30" in page
    assert "2026-12-04" not in page


def test_admin_pages_say_the_services_reasons_and_who_acted_in_russian(templates: Any):
    picking = {
        "status": "CANCELLED",
        "openedAt": "2026-12-04T16:14:05Z",
        "items": [],
        "history": [
            {
                "status": "CANCELLED",
                "at": "2026-12-04T16:20:00Z",
                "by": "saga",
                "reason": "order undone (RESTOCK)",
            }
        ],
    }
    page = templates.get_template("admin/picking.html").render(c=picking, statuses={})
    assert "сага: бронь снята, товар вернули на склад" in page
    assert "order undone" not in page and "saga" not in page
    case = {
        "status": "CANCELLED",
        "reason": "reversed",
        "history": [
            {
                "status": "CANCELLED",
                "at": "2026-12-04T16:20:00Z",
                "by": "saga",
                "reason": "reversed",
            }
        ],
    }
    page = templates.get_template("admin/delivery_case.html").render(case=case, case_words={})
    assert "сага: отменено (компенсация саги)" in page and "reversed" not in page
    silent = {**COMPENSATED, "reason": "no answer in time from DELIVERY, STORE"}
    order = {"status": "CANCELLED", "reason": "no answer in time from DELIVERY, STORE"}
    shown = timeline(silent, order)
    assert shown["reason"] == "Нет ответа вовремя: доставка, склад"
    assert "no answer" not in str(shown["entries"])


def test_the_admin_delivery_page_shows_the_delivery_date_as_every_other_page(templates: Any):
    case = {
        "status": "OPENED",
        "kind": "courier",
        "deliveryDate": "2026-12-05",
        "timeSlot": {"beginTime": "10:00:00", "endTime": "14:00:00"},
        "history": [],
    }
    page = templates.get_template("admin/delivery_case.html").render(case=case, case_words={})
    assert "05.12.2026, 10:00–14:00" in page and "2026-12-05" not in page


def test_the_saga_timeline_shows_moscow_time_as_the_rest_of_the_order_page(templates: Any):
    page = templates.get_template("admin/saga.html").render(
        saga=timeline(COMPENSATED, {"status": "CANCELLED"})
    )
    assert "19:14:00" in page and "19:20:02" in page
    assert "16:14:00" not in page


def test_the_timeline_says_whether_the_order_was_cancelled_or_returned():
    def asked(order: dict[str, Any]) -> str:
        entries = timeline(COMPENSATED, order)["entries"]
        return str(next(e["text"] for e in entries if "root" in e["text"]))

    returned = {"status": "RETURNED", "cancellation": {"kind": "RETURN", "by": "root"}}
    assert asked(returned).startswith("Принят возврат заказа: root")
    cancelled = {"status": "CANCELLED", "cancellation": {"kind": "CANCEL", "by": "root"}}
    assert asked(cancelled).startswith("Заказ попросили отменить: root")
    assert "(или принят возврат)" not in asked(returned) + asked(cancelled)
