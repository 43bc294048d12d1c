"""Helpers for daily-report tests: order documents shaped as order_svc writes them (put
straight into its database), the units a report must list for them, and report calls."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.support.http import Client
from tests.support.kafka import eventually

SOLD_PATH = ("AWAITING_PAYMENT", "PAID", "IN_PROGRESS", "CONFIRMED", "ASSEMBLING", "COMPLETED")


def unique_day() -> date:
    """A past day no other test reports on (reports and orders share one database)."""
    return date(2000, 1, 1) + timedelta(days=random.randint(0, 8000))


def history_of(paid: datetime, status: str, username: str) -> list[dict[str, Any]]:
    """The steps to `status`: along the sold path, or paid, checked and then `status`."""
    path = SOLD_PATH[: SOLD_PATH.index(status) + 1] if status in SOLD_PATH else SOLD_PATH[:3]
    if status not in SOLD_PATH:
        path = (*path, status)
    entries = [{"at": paid - timedelta(minutes=3), "status": path[0], "by": username}]
    for i, step in enumerate(path[1:]):
        entries.append({"at": paid + timedelta(minutes=i), "status": step, "by": "test"})
    return entries


def order_doc(
    day: date,
    username: str,
    items: list[tuple[str, int, int]],
    status: str = "CONFIRMED",
    paid_hour: float = 12.0,
    kind: str = "GOODS",
) -> dict[str, Any]:
    """An order paid `paid_hour` hours into `day` (UTC) and moved along to `status`;
    `items` are (name, unit price, quantity)."""
    paid = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=paid_hour)
    history = history_of(paid, status, username)
    positions = [
        {"id": i + 1, "productId": 100 + i, "name": name, "price": price, "quantity": qty}
        for i, (name, price, qty) in enumerate(items)
    ]
    return {
        "_id": str(uuid.uuid4()),
        "kind": kind,
        "username": username,
        "status": status,
        "version": len(history),
        "items": positions,
        "total": sum(price * qty for _, price, qty in items),
        "currency": "RUB",
        "createdAt": history[0]["at"],
        "updatedAt": history[-1]["at"],
        "history": history,
    }


def expected_units(docs: list[dict[str, Any]]) -> Counter[str]:
    """003's lines for these (sold) orders, one per unit, as a multiset."""
    lines: Counter[str] = Counter()
    for doc in docs:
        for item in doc["items"]:
            unit = {"product_name": item["name"], "price": item["price"], "amount": 1,
                    "user": {"id": doc["username"]}}  # fmt: skip
            lines[json.dumps(unit, ensure_ascii=False, sort_keys=True)] += item["quantity"]
    return lines


def file_units(text: str) -> Counter[str]:
    return Counter(
        json.dumps(json.loads(line), ensure_ascii=False, sort_keys=True)
        for line in text.splitlines()
    )


async def start_report(client: Client, day: date, **kw: Any) -> str:
    status, body = await client.post("/reports", {"date": day.isoformat()}, **kw)
    assert status == 202, body
    return str(body["reportId"])


async def finished(client: Client, report_id: str, timeout: float = 60.0) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        status, body = await client.get(f"/reports/{report_id}")
        assert status == 200, body
        return dict(body) if body["status"] != "RUNNING" else None

    result: dict[str, Any] = await eventually(done, timeout=timeout)
    return result
