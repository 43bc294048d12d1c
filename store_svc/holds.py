"""store_svc's documents, order part: what the store holds for each order (its reservation)
and the warehouse's picking case. Status changes are conditional on the status read, so two
writers (the sweeper and a CONFIRM) can never both win."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.catalog_http import PickingStatus, ReservationStatus
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc
from servicekit.unit import find_by_id, preload
from store_svc.repository import Session, inserted_or_stale


class Reservations:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db.reservations

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("status", ASCENDING), ("expiresAt", ASCENDING)])

    async def get(self, order_id: str, session: Session = None) -> Doc | None:
        return await find_by_id(self.coll, order_id, session)

    async def preload(self, order_ids: list[str], session: AsyncClientSession) -> None:
        """The reservations a batch of saga requests is about, in one read."""
        await preload(self.coll, order_ids, session)

    async def put(self, doc: Doc, replacing: Doc | None, session: Session) -> None:
        """Insert `doc`, or replace `replacing` if it has not changed since it was read."""
        if replacing is None:
            try:
                await self.coll.insert_one(doc, session=session)
            except DuplicateKeyError as exc:
                raise inserted_or_stale(exc) from exc
            return
        done = await self.coll.replace_one(
            {"_id": doc["_id"], "status": replacing["status"]}, doc, session=session
        )
        if done.matched_count != 1:
            raise StaleWrite(f"reservation {doc['_id']} changed while being replaced")

    async def transition(
        self,
        doc: Doc,
        to: ReservationStatus,
        changes: dict[str, Any],
        session: Session,
        unchanged: tuple[str, ...] = (),
    ) -> None:
        """Move the reservation on from the status it was read in (the conditional status
        change is what makes the sweeper and a CONFIRM exclusive); the `unchanged` fields
        must also still hold what was read."""
        done = await self.coll.update_one(
            {"_id": doc["_id"], "status": doc["status"], **{f: doc[f] for f in unchanged}},
            {"$set": {**changes, "status": to}},
            session=session,
        )
        if done.modified_count != 1:
            raise StaleWrite(f"reservation {doc['_id']} is no longer {doc['status']}")

    async def extend(self, order_id: str, until: datetime, now: datetime, session: Session) -> bool:
        """A pre-reservation is kept at least until `until` (never shortened); False when
        there is none or it already lasts that long."""
        done = await self.coll.update_one(
            {"_id": order_id, "status": ReservationStatus.RESERVED, "expiresAt": {"$lt": until}},
            {"$set": {"expiresAt": until, "updatedAt": now}},
            session=session,
        )
        return done.modified_count == 1

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of pre-reservations past their expiry, oldest first."""
        cursor = (
            self.coll.find(
                {"status": ReservationStatus.RESERVED, "expiresAt": {"$lte": now}}, {"_id": 1}
            )
            .sort("expiresAt", ASCENDING)
            .limit(limit)
        )
        return [d["_id"] for d in await cursor.to_list()]


class PickingCases:
    """One case per booked order: its allocations, the product names the customer saw, the
    main warehouse, and a history of every move (who, when, why)."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db.picking

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("status", ASCENDING), ("openedAt", ASCENDING)])

    async def get(self, order_id: str, session: Session = None) -> Doc | None:
        return await self.coll.find_one({"_id": order_id}, session=session)

    async def open(self, case: Doc, session: Session) -> None:
        await self.coll.replace_one({"_id": case["_id"]}, case, upsert=True, session=session)

    async def move(
        self, doc: Doc, to: PickingStatus, changes: Doc, entry: Doc, session: Session
    ) -> Doc:
        """Move the case on from the status it was read in, with a history entry."""
        fields = {**changes, "status": to, "updatedAt": entry["at"]}
        done = await self.coll.update_one(
            {"_id": doc["_id"], "status": doc["status"]},
            {"$set": fields, "$push": {"history": entry}},
            session=session,
        )
        if done.modified_count != 1:
            raise StaleWrite(f"picking case {doc['_id']} is no longer {doc['status']}")
        return {**doc, **fields, "history": [*doc.get("history", []), entry]}

    async def listed(
        self, statuses: list[PickingStatus] | None, warehouse: str | None, limit: int
    ) -> list[Doc]:
        """Cases oldest first, in these statuses and with units from `warehouse`."""
        query: Doc = {}
        if statuses:
            query["status"] = {"$in": list(statuses)}
        if warehouse:
            query["items.warehouseId"] = warehouse
        cursor = self.coll.find(query).sort([("openedAt", ASCENDING), ("_id", ASCENDING)])
        return await cursor.limit(limit).to_list()
