"""Daily reports' rules without I/O: the day asked for, which orders count as sold that day,
and the lines of 003's `.jsonl` file (one per unit)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from order_svc.domain import OrderKind, history_entry
from order_svc.report_lines import (
    SOLD,
    Tally,
    day_refused,
    day_window,
    default_day,
    sold_within,
    unit_line,
)
from order_svc.reports import key_matches
from schemas.order import OrderStatus as S
from schemas.report_http import ReportRequest

NOW = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
DAY = date(2026, 11, 23)
START, END = day_window(DAY)


Doc = dict[str, object]


def order(status: S = S.CONFIRMED, paid: datetime | None = None, **extra: object) -> Doc:
    paid = paid or START + timedelta(hours=12)
    history = [
        history_entry(S.AWAITING_PAYMENT, "anna", paid - timedelta(minutes=5)),
        history_entry(S.PAID, "payment_svc", paid),
        history_entry(status, "orchestra", paid + timedelta(minutes=1)),
    ]
    items = [
        {"id": 1, "productId": 10, "name": "велосипед_10", "price": 50_000, "quantity": 5},
        {"id": 2, "productId": 11, "name": "звонок", "price": 900, "quantity": 1},
    ]
    return {"_id": "o1", "username": "anna", "status": status.value, "items": items,
            "history": history, **extra}  # fmt: skip


def test_the_default_day_is_yesterday_in_utc_even_late_in_a_moscow_evening():
    moscow_night = datetime(2026, 11, 24, 2, 30, tzinfo=UTC).astimezone()
    assert default_day(moscow_night) == DAY


def test_today_may_be_reported_but_a_future_day_is_refused_with_a_reason():
    assert day_refused(DAY, NOW) is None
    assert day_refused(NOW.date(), NOW) is None
    reason = day_refused(date(2026, 11, 25), NOW)
    assert reason is not None and "future" in reason


def test_a_day_window_is_the_whole_utc_day():
    start, end = day_window(DAY)
    assert start == datetime(2026, 11, 23, tzinfo=UTC)
    assert end == datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize("body", ['{"date": "23.11.2026"}', '{"date": "2026-02-30"}',
                                  '{"date": 1764000000}', '{"date": "2026-11-23T10:00:00"}',
                                  '{"day": "2026-11-23"}'])  # fmt: skip
def test_a_report_request_takes_only_a_calendar_day_as_yyyy_mm_dd(body: str):
    with pytest.raises(ValidationError):
        ReportRequest.model_validate_json(body)
    assert ReportRequest.model_validate_json('{"date": "2026-11-23"}').date == DAY
    assert ReportRequest.model_validate_json("{}").date is None


@pytest.mark.parametrize("status", sorted(SOLD))
def test_an_order_confirmed_or_further_along_counts_as_sold_on_the_day_it_was_paid(status: S):
    assert sold_within(order(status), START, END)


@pytest.mark.parametrize(
    "status", [S.PAID, S.IN_PROGRESS, S.CANCELLED, S.AWAITING_PAYMENT, S.FAILED, S.NEW]
)
def test_an_order_not_confirmed_or_cancelled_is_not_sold(status: S):
    assert not sold_within(order(status), START, END)


def test_an_order_paid_the_day_before_or_after_belongs_to_that_day():
    assert not sold_within(order(paid=START - timedelta(milliseconds=1)), START, END)
    assert not sold_within(order(paid=END), START, END)
    assert sold_within(order(paid=START), START, END)


def test_a_gift_card_order_is_not_goods_sold():
    assert not sold_within(order(S.COMPLETED, kind=OrderKind.GIFT_CARD.value), START, END)


def test_a_unit_line_has_the_shape_of_003():
    line = unit_line("велосипед_10", 50_000, "anna")
    assert line.endswith("\n") and "велосипед_10" in line  # UTF-8, not \u escapes
    assert json.loads(line) == {
        "product_name": "велосипед_10",
        "price": 50_000,
        "amount": 1,
        "user": {"id": "anna"},
    }


def test_a_product_bought_five_times_gives_five_lines_and_the_tally_adds_up():
    tally = Tally()
    tally.add(order())
    lines = [json.loads(x) for x in tally.drain().splitlines()]
    assert [x["product_name"] for x in lines] == ["велосипед_10"] * 5 + ["звонок"]
    assert (tally.units, tally.orders, tally.amount) == (6, 1, 5 * 50_000 + 900)
    assert tally.drain() == ""  # drained lines are not written twice


def test_an_api_key_matches_only_one_of_the_configured_keys_exactly():
    keys = ("k-one", "k-two")
    assert key_matches("k-two", keys)
    assert not key_matches("k-tw", keys)
    assert not key_matches("k-two ", keys)
    assert not key_matches("anything", ())
