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
        self, doc: Doc, to: ReservationStatus, changes: dict[str, Any], session: Session
    ) -> None:
        """Move the reservation on from the status it was read in (the conditional status
        change is what makes the sweeper and a CONFIRM exclusive)."""
        done = await self.coll.update_one(
            {"_id": doc["_id"], "status": doc["status"]},
            {"$set": {**changes, "status": to}},
            session=session,
        )
        if done.modified_count != 1:
            raise StaleWrite(f"reservation {doc['_id']} is no longer {doc['status']}")

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
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db.picking

    async def get(self, order_id: str) -> Doc | None:
        return await self.coll.find_one({"_id": order_id})

    async def open(self, order_id: str, items: list[Doc], now: datetime, session: Session) -> None:
        doc = {"_id": order_id, "status": PickingStatus.PICKING, "items": items, "openedAt": now}
        await self.coll.replace_one({"_id": order_id}, doc, upsert=True, session=session)

    async def picked(self, order_id: str, now: datetime, session: Session) -> bool:
        """The warehouse has picked an open case; False when none was open."""
        return await self._close(
            order_id, PickingStatus.PICKED, (PickingStatus.PICKING,), now, session
        )

    async def cancel(self, order_id: str, now: datetime, session: Session) -> bool:
        """The order was reversed: its case is cancelled, picked or not."""
        open_or_picked = (PickingStatus.PICKING, PickingStatus.PICKED)
        return await self._close(order_id, PickingStatus.CANCELLED, open_or_picked, now, session)

    async def _close(
        self,
        order_id: str,
        to: PickingStatus,
        source: tuple[PickingStatus, ...],
        now: datetime,
        session: Session,
    ) -> bool:
        done = await self.coll.update_one(
            {"_id": order_id, "status": {"$in": list(source)}},
            {"$set": {"status": to, "closedAt": now}},
            session=session,
        )
        return done.modified_count == 1
