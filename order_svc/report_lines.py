"""What a daily report (003) lists, without I/O: which orders count as sold on a day, and one
`.jsonl` line per unit they sold, in 003's shape `{"product_name", "price", "amount", "user":
{"id"}}` (bought 5 times → 5 lines, each with `amount: 1`).

Sold = paid and not given back: an order counts once its saga confirmed it (CONFIRMED and every
later step up to COMPLETED); a cancelled one was refunded, and one still being paid or checked
(PAID, IN_PROGRESS) may yet be. It belongs to the UTC day its payment arrived (its PAID history
entry). Gift-card orders are left out: a card is money paid in advance, and the goods it buys
later appear in the report of the day they are bought. `price` is the unit price in kopecks,
`user.id` the customer's username."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from order_svc.domain import OrderKind, kind_of
from schemas.order import OrderStatus as S
from servicekit.mongo import Doc

SOLD = frozenset({S.CONFIRMED, S.ASSEMBLING, S.READY_FOR_PICKUP, S.DELIVERING, S.COMPLETED})


def default_day(now: datetime) -> date:
    """Yesterday in UTC: the neighbour's daily call asks for the last complete day."""
    return now.astimezone(UTC).date() - timedelta(days=1)


def day_refused(day: date, now: datetime) -> str | None:
    """Why a report for `day` cannot be made (a day that has not begun), or None."""
    today = now.astimezone(UTC).date()
    if day > today:
        return f"date {day.isoformat()} is in the future (today is {today.isoformat()} UTC)"
    return None


def day_window(day: date) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of `day`."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def paid_at(doc: Doc) -> datetime | None:
    for entry in doc.get("history", ()):
        if entry.get("status") == S.PAID.value:
            at: datetime = entry["at"]
            return at if at.tzinfo else at.replace(tzinfo=UTC)
    return None


def sold_within(doc: Doc, start: datetime, end: datetime) -> bool:
    """Whether this order counts in the report of the day [start, end)."""
    if doc.get("status") not in SOLD or kind_of(doc) is OrderKind.GIFT_CARD:
        return False
    at = paid_at(doc)
    return at is not None and start <= at < end


def unit_line(product_name: str, price: int, user_id: str) -> str:
    unit = {"product_name": product_name, "price": price, "amount": 1, "user": {"id": user_id}}
    return json.dumps(unit, ensure_ascii=False) + "\n"


@dataclass
class Tally:
    """What a report has written so far."""

    units: int = 0
    orders: int = 0
    amount: int = 0
    lines: list[str] = field(default_factory=list)

    def add(self, doc: Doc) -> None:
        """The order's units as lines (to be written and then `drain`ed)."""
        self.orders += 1
        for item in doc["items"]:
            line = unit_line(item["name"], item["price"], doc["username"])
            self.lines.extend([line] * item["quantity"])
            self.units += item["quantity"]
            self.amount += item["price"] * item["quantity"]

    def drain(self) -> str:
        chunk, self.lines = "".join(self.lines), []
        return chunk
