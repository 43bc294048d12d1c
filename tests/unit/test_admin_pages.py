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
