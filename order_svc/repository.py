"""Order documents. Every change is a conditional write on (`_id`, `version`) that bumps the
version and appends to the status history when the status moves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from order_svc.domain import OrderKind, Position, history_entry, to_millis
from schemas.order import OrderStatus
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc
from servicekit.sweeps import earliest
from servicekit.unit import find_by_id, preload, remember

Session = AsyncClientSession | None


def positions_of(doc: Doc) -> list[Position]:
    return [
        Position(p["id"], p["productId"], p["name"], p["price"], p["quantity"])
        for p in doc["items"]
    ]


def items_doc(positions: list[Position]) -> list[Doc]:
    return [
        {
            "id": p.id,
            "productId": p.product_id,
            "name": p.name,
            "price": p.price,
            "quantity": p.quantity,
        }
        for p in positions
    ]


class Orders:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.orders = db.orders

    async def ensure_indexes(self) -> None:
        # at most one NEW order (the cart) per customer: `cartOf` is set only while NEW
        await self.orders.create_index("cartOf", unique=True, sparse=True)
        await self.orders.create_index([("username", ASCENDING), ("createdAt", DESCENDING)])
        await self.orders.create_index([("status", ASCENDING), ("expiresAt", ASCENDING)])
        await self.orders.create_index([("status", ASCENDING), ("handoverDeadline", ASCENDING)])
        await self.orders.create_index([("createdAt", DESCENDING)])
        # a day's report finds the orders paid that day by their history's times
        await self.orders.create_index("history.at")

    async def get(self, order_id: str, session: Session = None) -> Doc | None:
        return await find_by_id(self.orders, order_id, session)

    async def preload(self, order_ids: list[str], session: AsyncClientSession) -> None:
        """The orders a batch of messages is about, in one read (servicekit.unit.preload)."""
        await preload(self.orders, order_ids, session)

    async def cart_of(self, username: str) -> Doc | None:
        return await self.orders.find_one({"cartOf": username})

    async def insert(self, doc: Doc, session: Session = None) -> None:
        await self.orders.insert_one(doc, session=session)
        remember(self.orders, doc)

    async def update(
        self,
        doc: Doc,
        changes: Doc,
        session: Session = None,
        status: OrderStatus | None = None,
        by: str = "",
        at: datetime | None = None,
        reason: str | None = None,
        unset: tuple[str, ...] = (),
    ) -> Doc:
        """Write `changes` (and a status move) if the order is still at `doc`'s version;
        returns the new document, or raises StaleWrite."""
        update: dict[str, Any] = {"$set": dict(changes), "$inc": {"version": 1}}
        if status is not None:
            assert at is not None  # noqa: S101 - type narrowing, not a guard
            at = to_millis(at)
            entry = history_entry(status, by, at, reason)
            update["$set"].update(status=status.value, updatedAt=at)
            update["$push"] = {"history": entry}
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        result = await self.orders.update_one(
            {"_id": doc["_id"], "version": doc["version"]}, update, session=session
        )
        if result.modified_count != 1:
            raise StaleWrite(f"order {doc['_id']} changed")
        new = {**doc, **update["$set"], "version": doc["version"] + 1}
        if status is not None:
            new["history"] = [*doc.get("history", []), update["$push"]["history"]]
        for field in unset:
            new.pop(field, None)
        remember(self.orders, new)
        return new

    async def page(self, query: Doc, skip: int, limit: int) -> tuple[list[Doc], int]:
        cursor = self.orders.find(query).sort("createdAt", DESCENDING).skip(skip).limit(limit)
        return await cursor.to_list(), await self.orders.count_documents(query)

    async def unpaid_of(self, username: str) -> int:
        """How many of the customer's orders of goods await payment (each holds stock and a
        slot; a gift card's holds nothing)."""
        query = {
            "username": username,
            "status": OrderStatus.AWAITING_PAYMENT.value,
            "kind": {"$ne": OrderKind.GIFT_CARD.value},
        }
        return await self.orders.count_documents(query)

    async def unpaid_before(self, now: datetime, limit: int = 100) -> list[Doc]:
        cursor = self.orders.find(
            {"status": OrderStatus.AWAITING_PAYMENT.value, "expiresAt": {"$lt": now}}
        ).limit(limit)
        return await cursor.to_list()

    async def next_unpaid_expiry(self) -> datetime | None:
        query = {"status": OrderStatus.AWAITING_PAYMENT.value}
        return await earliest(self.orders, query, "expiresAt")

    async def next_handover_deadline(self) -> datetime | None:
        query = {"status": OrderStatus.IN_PROGRESS.value}
        return await earliest(self.orders, query, "handoverDeadline")

    async def handed_over_before(self, now: datetime, limit: int = 100) -> list[Doc]:
        """Orders in progress whose saga outcome has not come by their hand-over deadline."""
        cursor = self.orders.find(
            {"status": OrderStatus.IN_PROGRESS.value, "handoverDeadline": {"$lt": now}}
        ).limit(limit)
        return await cursor.to_list()
