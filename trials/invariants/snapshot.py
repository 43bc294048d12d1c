"""Everything the invariants read after a run, in one go: each service's own database, the
bank's ledger file and the notification gateways' logs; and the small vocabulary the checks
share (a `Check`, the order states that hold money, goods vs gift-card orders)."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from launcher.stack import Stack

CONFIRMED_OR_LATER = {"CONFIRMED", "ASSEMBLING", "READY_FOR_PICKUP", "DELIVERING", "COMPLETED"}
Doc = dict[str, Any]
Docs = list[Doc]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check(name: str, problems: list[str], summary: str) -> Check:
    detail = summary if not problems else f"{summary}; {len(problems)} broken: {problems[:5]}"
    return Check(name, not problems, detail)


def is_gift_card_order(order: Doc) -> bool:
    """Orders without a `kind` predate gift cards: they are goods."""
    return order.get("kind", "GOODS") == "GIFT_CARD"


@dataclass
class Snapshot:
    orders: Docs
    sagas: Docs
    stocks: Docs
    reservations: Docs
    picking: Docs
    cases: Docs
    payments: Docs
    notifications: Docs
    users: Docs
    outboxes: dict[str, int]
    ledger: Docs
    sent: Counter[str]
    refunds: Docs = field(default_factory=list)  # payment_svc's admin (partial) refunds
    wallets: Docs = field(default_factory=list)
    gift_cards: Docs = field(default_factory=list)
    entries: Docs = field(default_factory=list)  # billing's ledger entries

    @property
    def goods_orders(self) -> Docs:
        return [o for o in self.orders if not is_gift_card_order(o)]


async def snapshot(stack: Stack) -> Snapshot:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(stack.mongo)
    try:

        async def all_of(db: str, coll: str) -> Docs:
            return await client[db][coll].find({}).to_list()

        outboxes = {n: await client[n].outbox.count_documents({}) for n in stack.names}
        return Snapshot(
            orders=await all_of("order_svc", "orders"),
            sagas=await all_of("orchestra", "sagas"),
            stocks=await all_of("store_svc", "stocks"),
            reservations=await all_of("store_svc", "reservations"),
            picking=await all_of("store_svc", "picking"),
            cases=await all_of("delivery_svc", "cases"),
            payments=await all_of("payment_svc", "payments"),
            notifications=await all_of("notification_svc", "notifications"),
            users=await all_of("auth_svc", "users"),
            outboxes=outboxes,
            ledger=read_jsonl(stack.state / "bank-ledger.jsonl"),
            sent=sent_keys(stack.state / "sent"),
            refunds=await all_of("payment_svc", "refunds"),
            wallets=await all_of("billing_svc", "wallets"),
            gift_cards=await all_of("billing_svc", "gift_cards"),
            entries=await all_of("billing_svc", "entries"),
        )
    finally:
        await client.close()


def read_jsonl(path: Path) -> Docs:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            rows.append(json.loads(line))
    return rows


def sent_keys(directory: Path) -> Counter[str]:
    """How often each notification (by its idempotency key) left through a gateway."""
    seen: Counter[str] = Counter()
    for path in directory.glob("*.jsonl"):
        for row in read_jsonl(path):
            seen[str(row.get("idempotencyKey") or row.get("key") or row.get("id"))] += 1
    return seen
