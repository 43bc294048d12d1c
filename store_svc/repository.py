"""store_svc's documents, catalog part: products and stock lines (holds.py has the
reservations and picking cases).

Every write that has a precondition puts it in the filter of one `update_one` and looks at the
counts (the embedded database's `find_one_and_update` scans the collection, DESIGN.md). A write
inside a transaction that finds its document changed since the transaction read it raises
StaleWrite, which reruns the transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from bson import Regex
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.catalog import ProductFeedMessage
from schemas.catalog_http import SortKey
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc
from store_svc import domain
from store_svc.domain import Allocation, Move

Session = AsyncClientSession | None
NEVER_FED = -1  # the feed version of a stock line only an admin has set
SORTS: dict[str, list[tuple[str, int]]] = {
    "name": [("nameKey", ASCENDING), ("_id", ASCENDING)],
    "-name": [("nameKey", DESCENDING), ("_id", DESCENDING)],
    "price": [("finalPrice", ASCENDING), ("_id", ASCENDING)],
    "-price": [("finalPrice", DESCENDING), ("_id", DESCENDING)],
}
HIDDEN = {"searchTokens": 0, "searchText": 0}


def search_filter(words: list[str]) -> Doc:
    """Every word must start a word of the name or description. The longest word (the most
    selective) is a range on the indexed `searchTokens`, which the index serves (a regex is
    not served by the embedded database's index); the others are checked on those candidates
    as anchored patterns over `searchText`, the same words joined by spaces."""
    if not words:
        return {}
    key = max(words, key=len)
    low, high = domain.prefix_range(key)
    query: Doc = {"searchTokens": {"$gte": low, "$lt": high}}
    rest = list(words)
    rest.remove(key)
    if rest:
        query["searchText"] = {"$all": [Regex(f"(?:^| ){re.escape(w)}") for w in rest]}
    return query


def product_fields(msg: ProductFeedMessage, discount_percent: int, now: datetime) -> Doc:
    """The product document's fields from a feed message (the discount is the store's own)."""
    price = domain.shelf_price(msg.cost, msg.tax)
    words = domain.tokens(msg.name, msg.description)
    return {
        "name": msg.name,
        "description": msg.description,
        "measurements": msg.measurements.model_dump(),
        "cost": msg.cost,
        "tax": msg.tax,
        "version": msg.version,
        "price": price,
        "finalPrice": domain.discounted(price, discount_percent),
        "nameKey": domain.normalize(msg.name),
        "searchTokens": words,
        "searchText": " ".join(words),
        "updatedAt": now,
    }


def inserted_or_stale(exc: DuplicateKeyError) -> StaleWrite:
    return StaleWrite(f"inserted concurrently: {exc.details}")


class Products:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db.products

    async def ensure_indexes(self) -> None:
        await self.coll.create_index("searchTokens")
        for order in SORTS.values():
            if order[0][1] == ASCENDING:
                await self.coll.create_index(order)

    async def get(self, product_id: int, session: Session = None) -> Doc | None:
        return await self.coll.find_one({"_id": product_id}, HIDDEN, session=session)

    async def apply_feed(self, msg: ProductFeedMessage, now: datetime, session: Session) -> bool:
        """Create or update the product unless the stored version is the same or newer."""
        current = await self.coll.find_one(
            {"_id": msg.id}, {"version": 1, "discountPercent": 1}, session=session
        )
        if current is not None and current["version"] >= msg.version:
            return False
        percent = current["discountPercent"] if current else 0
        fields = product_fields(msg, percent, now)
        if current is None:
            try:
                await self.coll.insert_one(
                    {"_id": msg.id, **fields, "discountPercent": 0, "createdAt": now},
                    session=session,
                )
            except DuplicateKeyError as exc:
                raise inserted_or_stale(exc) from exc
            return True
        done = await self.coll.update_one(
            {"_id": msg.id, "version": {"$lt": msg.version}, "discountPercent": percent},
            {"$set": fields},
            session=session,
        )
        if done.matched_count != 1:
            raise StaleWrite(f"product {msg.id} changed while being updated")
        return True

    async def set_discount(self, doc: Doc, percent: int, session: Session) -> Doc:
        changes = {
            "discountPercent": percent,
            "finalPrice": domain.discounted(doc["price"], percent),
        }
        done = await self.coll.update_one(
            {"_id": doc["_id"], "version": doc["version"], "price": doc["price"]},
            {"$set": changes},
            session=session,
        )
        if done.matched_count != 1:
            raise StaleWrite(f"product {doc['_id']} changed while its discount was set")
        return {**doc, **changes}

    async def page(
        self, words: list[str], sort: SortKey, page: int, size: int
    ) -> tuple[list[Doc], int]:
        """One page, cut by the database (skip / limit), and the number of matches."""
        query = search_filter(words)
        cursor = self.coll.find(query, HIDDEN).sort(SORTS[sort]).skip(page * size).limit(size)
        docs = await cursor.to_list()
        if query:
            return docs, await self.coll.count_documents(query)
        return docs, await self.coll.estimated_document_count()


def received(line: Doc, on_hand: int) -> int:
    """The units the line has received once a count sets `on_hand`: what is on hand, booked,
    shipped and written off (store_svc's conservation equation)."""
    return on_hand + line["booked"] + line.get("shipped", 0) + line.get("writtenOff", 0)


def stock_key(product_id: int, warehouse_id: str) -> str:
    return f"{product_id}:{warehouse_id}"


class Stocks:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db.stocks

    async def ensure_indexes(self) -> None:
        await self.coll.create_index("productId")
        await self.coll.create_index("warehouseId")

    async def has_warehouse(self, warehouse_id: str) -> bool:
        return await self.coll.find_one({"warehouseId": warehouse_id}, {"_id": 1}) is not None

    async def lines(self, product_ids: Iterable[int], session: Session = None) -> list[Doc]:
        ids = list(product_ids)
        return await self.coll.find({"productId": {"$in": ids}}, session=session).to_list()

    async def levels(
        self, product_ids: Iterable[int], session: Session
    ) -> dict[int, dict[str, int]]:
        """Available units per product and warehouse."""
        levels: dict[int, dict[str, int]] = {}
        for line in await self.lines(product_ids, session):
            levels.setdefault(line["productId"], {})[line["warehouseId"]] = line["available"]
        return levels

    async def move(self, a: Allocation, move: Move, now: datetime, session: Session) -> bool:
        """Apply `move` to one line if its guard holds (e.g. enough available to reserve)."""
        done = await self.coll.update_one(
            {
                "_id": stock_key(a.product_id, a.warehouse_id),
                domain.guard(move): {"$gte": a.quantity},
            },
            {"$inc": domain.increments(move, a.quantity), "$set": {"updatedAt": now}},
            session=session,
        )
        return done.modified_count == 1

    async def count(
        self,
        product_id: int,
        warehouse_id: str,
        reported: int,
        now: datetime,
        session: Session,
        version: int | None = None,
    ) -> Doc | None:
        """Set the units on hand from a count: a feed count (`version` given) is ignored when
        not newer than the line's and clamped to the reserved units; an admin's count below
        them is refused. Returns the line, or None when the count was ignored."""
        key = stock_key(product_id, warehouse_id)
        line = await self.coll.find_one({"_id": key}, session=session)
        if line is None:
            line = {
                "_id": key,
                "productId": product_id,
                "warehouseId": warehouse_id,
                "onHand": reported,
                "reserved": 0,
                "booked": 0,
                "shipped": 0,
                "writtenOff": 0,
                "received": reported,
                "available": reported,
                "version": NEVER_FED if version is None else version,
                "reportedOnHand": reported,
                "updatedAt": now,
            }
            try:
                await self.coll.insert_one(line, session=session)
            except DuplicateKeyError as exc:
                raise inserted_or_stale(exc) from exc
            return line
        if version is not None and line["version"] >= version:
            return None
        reserved = line["reserved"]
        if version is None and reported < reserved:
            raise domain.OnHandBelowReserved(reported, reserved)
        on_hand = domain.counted_on_hand(reported, reserved)
        changes = {
            "onHand": on_hand,
            "available": on_hand - reserved,
            "received": received(line, on_hand),
            "version": line["version"] if version is None else version,
            "reportedOnHand": reported,
            "updatedAt": now,
        }
        done = await self.coll.update_one(
            {
                "_id": key,
                "reserved": reserved,
                "version": line["version"],
                "onHand": line["onHand"],
                "booked": line["booked"],
            },
            {"$set": changes},
            session=session,
        )
        if done.matched_count != 1:
            raise StaleWrite(f"stock line {key} changed while being counted")
        return {**line, **changes}
