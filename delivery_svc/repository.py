"""delivery_svc's documents: pickup points, quotes, slot counters, holds and cases.

A slot counter `{_id: slotId, taken}` is the only place a window's capacity is counted; a place
is taken by a conditional `$inc` (`taken < capacity` in the filter) and given back by the
opposite, each in the same transaction as the hold's status change, so a window is never
overbooked and a place is never given back twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from delivery_svc.domain import Case, Quote
from delivery_svc.settings import PickupPointConfig
from delivery_svc.slots import Hold, Slot, Window
from schemas.delivery_http import CaseStatus, DeliveryKind, HoldStatus
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc
from servicekit.sweeps import earliest
from servicekit.unit import find_by_id, preload

Session = AsyncClientSession | None
# expired quotes are kept a day: a CONFIRM may still check the price the customer accepted
QUOTE_KEEP = timedelta(days=1)


def slot_doc(slot: Slot) -> Doc:
    w = slot.window
    return {
        "id": slot.slot_id,
        "resource": slot.resource,
        "date": slot.day.isoformat(),
        "begin": f"{w.begin:%H:%M}",
        "end": f"{w.end:%H:%M}",
    }


def to_slot(doc: Doc) -> Slot:
    window = Window(time.fromisoformat(doc["begin"]), time.fromisoformat(doc["end"]))
    return Slot(doc["resource"], date.fromisoformat(doc["date"]), window)


def to_hold(doc: Doc) -> Hold:
    return Hold(
        order_id=doc["_id"],
        username=doc["username"],
        kind=DeliveryKind(doc["kind"]),
        choice=doc["choice"],
        address=doc["address"],
        cost=doc["cost"],
        slot=to_slot(doc["slot"]),
        status=HoldStatus(doc["status"]),
        expires_at=doc["expiresAt"],
        version=doc["version"],
    )


def hold_doc(hold: Hold, now: datetime) -> Doc:
    return {
        "_id": hold.order_id,
        "username": hold.username,
        "kind": hold.kind.value,
        "choice": hold.choice,
        "address": hold.address,
        "cost": hold.cost,
        "slot": slot_doc(hold.slot),
        "status": hold.status.value,
        "expiresAt": hold.expires_at,
        "version": hold.version,
        "updatedAt": now,
    }


def to_case(doc: Doc) -> Case:
    return Case(
        order_id=doc["_id"],
        username=doc.get("username"),
        status=CaseStatus(doc["status"]),
        kind=DeliveryKind(doc["kind"]) if doc.get("kind") else None,
        slot=to_slot(doc["slot"]) if doc.get("slot") else None,
        address=doc.get("address"),
        point_id=doc.get("pointId"),
        courier_company=doc.get("courierCompany"),
        cost=doc.get("cost", 0),
        reason=doc.get("reason"),
        history=tuple(doc.get("history", ())),
        version=doc["version"],
        parcel_at=doc.get("parcelAt"),
        keep_until=doc.get("keepUntil"),
        code_hash=doc.get("codeHash"),
        shipment_id=doc.get("shipmentId"),
        failed_attempts=doc.get("failedAttempts", 0),
    )


def case_fields(case: Case, now: datetime) -> Doc:
    return {
        "username": case.username,
        "status": case.status.value,
        "kind": case.kind.value if case.kind else None,
        "slot": slot_doc(case.slot) if case.slot else None,
        "address": case.address,
        "pointId": case.point_id,
        "courierCompany": case.courier_company,
        "cost": case.cost,
        "reason": case.reason,
        "history": list(case.history),
        "parcelAt": case.parcel_at,
        "keepUntil": case.keep_until,
        "codeHash": case.code_hash,
        "shipmentId": case.shipment_id,
        "failedAttempts": case.failed_attempts,
        "updatedAt": now,
    }


class Repository:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.points = db.pickup_points
        self.quotes = db.quotes
        self.slots = db.slots
        self.holds = db.holds
        self.cases = db.cases
        self.parcels = db.parcels

    async def ensure_indexes(self) -> None:
        await self.quotes.create_index("purgeAt", expireAfterSeconds=0)
        await self.holds.create_index([("status", ASCENDING), ("expiresAt", ASCENDING)])
        await self.cases.create_index("username")
        await self.cases.create_index([("status", ASCENDING), ("kind", ASCENDING)])
        await self.parcels.create_index("at")  # and the collection, before any transaction

    # -- pickup points -------------------------------------------------------------------
    async def seed_points(self, points: list[PickupPointConfig]) -> None:
        """The configured points, created or updated; points no longer configured are hidden
        (kept for the cases that name them)."""
        for p in points:
            fields = {"name": p.name, "address": p.address, "workingHours": p.working_hours}
            await self.points.update_one(
                {"_id": p.id}, {"$set": {**fields, "active": True}}, upsert=True
            )
        ids = [p.id for p in points]
        await self.points.update_many({"_id": {"$nin": ids}}, {"$set": {"active": False}})

    async def active_points(self) -> list[Doc]:
        return await self.points.find({"active": True}).sort("_id", ASCENDING).to_list()

    async def point(self, point_id: int, session: Session = None) -> Doc | None:
        return await self.points.find_one({"_id": point_id, "active": True}, session=session)

    # -- quotes --------------------------------------------------------------------------
    async def insert_quote(self, quote: Quote, now: datetime) -> None:
        await self.quotes.insert_one(
            {
                "_id": quote.quote_id,
                "username": quote.username,
                "address": quote.address,
                "courierCompany": quote.courier_company,
                "cost": quote.cost,
                "expiresAt": quote.expires_at,
                "purgeAt": quote.expires_at + QUOTE_KEEP,
                "createdAt": now,
                "carrierQuoteId": quote.carrier_quote_id,
                "carrierExpiresAt": quote.carrier_expires_at,
            }
        )

    async def quote(self, quote_id: str, session: Session = None) -> Quote | None:
        doc = await self.quotes.find_one({"_id": quote_id}, session=session)
        if doc is None:
            return None
        return Quote(
            quote_id=doc["_id"],
            username=doc["username"],
            address=doc["address"],
            courier_company=doc["courierCompany"],
            cost=doc["cost"],
            expires_at=doc["expiresAt"],
            carrier_quote_id=doc.get("carrierQuoteId"),
            carrier_expires_at=doc.get("carrierExpiresAt"),
        )

    # -- slot counters -------------------------------------------------------------------
    async def take_place(self, slot: Slot, capacity: int, session: Session) -> bool:
        """One place in `slot` if it has one left; the first place creates the counter."""
        taken = await self.slots.update_one(
            {"_id": slot.slot_id, "taken": {"$lt": capacity}},
            {"$inc": {"taken": 1}},
            session=session,
        )
        if taken.modified_count == 1:
            return True
        if capacity < 1 or await self.slots.find_one({"_id": slot.slot_id}, session=session):
            return False
        fields = slot_doc(slot)
        await _insert(self.slots, {"_id": fields.pop("id"), **fields, "taken": 1}, session)
        return True

    async def give_place(self, slot_id: str, session: Session) -> None:
        await self.slots.update_one(
            {"_id": slot_id, "taken": {"$gt": 0}}, {"$inc": {"taken": -1}}, session=session
        )

    # -- holds ---------------------------------------------------------------------------
    async def preload(self, order_ids: list[str], session: AsyncClientSession) -> None:
        """The holds and cases a batch of saga requests is about, one read each."""
        await preload(self.holds, order_ids, session)
        await preload(self.cases, order_ids, session)

    async def hold(self, order_id: str, session: Session = None) -> Hold | None:
        doc = await find_by_id(self.holds, order_id, session)
        return to_hold(doc) if doc else None

    async def save_hold(self, old: Hold | None, new: Hold, now: datetime, session: Session) -> Hold:
        """Write `new` if the order's hold is still `old` (None: there was none)."""
        if old is None:
            doc = {**hold_doc(new, now), "version": 0, "createdAt": now}
            await _insert(self.holds, doc, session)
            return new
        doc = {**hold_doc(new, now), "version": old.version + 1}
        result = await self.holds.replace_one(
            {"_id": old.order_id, "version": old.version}, doc, session=session
        )
        if result.modified_count != 1:
            raise StaleWrite(f"hold {old.order_id} changed")
        return to_hold(doc)

    async def move_hold(
        self,
        hold: Hold,
        to: HoldStatus,
        now: datetime,
        session: Session,
        expired_before: datetime | None = None,
    ) -> bool:
        """Change the hold's status if it is still what `hold` says (and, for the sweeper,
        still past its expiry); False when someone else changed it first."""
        query: dict[str, Any] = {"_id": hold.order_id, "status": hold.status.value}
        if expired_before is not None:
            query["expiresAt"] = {"$lt": expired_before}
        result = await self.holds.update_one(
            query,
            {"$set": {"status": to.value, "updatedAt": now}, "$inc": {"version": 1}},
            session=session,
        )
        return result.modified_count == 1

    async def expired_holds(self, now: datetime, limit: int = 100) -> list[str]:
        cursor = self.holds.find(
            {"status": HoldStatus.HELD.value, "expiresAt": {"$lt": now}}, {"_id": 1}
        ).limit(limit)
        return [d["_id"] async for d in cursor]

    async def next_hold_expiry(self) -> datetime | None:
        return await earliest(self.holds, {"status": HoldStatus.HELD.value}, "expiresAt")

    # -- cases ---------------------------------------------------------------------------
    async def case(self, order_id: str, session: Session = None) -> Case | None:
        doc = await find_by_id(self.cases, order_id, session)
        return to_case(doc) if doc else None

    async def insert_case(self, case: Case, now: datetime, session: Session) -> None:
        doc = {"_id": case.order_id, **case_fields(case, now), "version": 0, "createdAt": now}
        await _insert(self.cases, doc, session)

    async def save_case(self, old: Case, new: Case, now: datetime, session: Session) -> Case:
        result = await self.cases.update_one(
            {"_id": old.order_id, "version": old.version},
            {"$set": case_fields(new, now), "$inc": {"version": 1}},
            session=session,
        )
        if result.modified_count != 1:
            raise StaleWrite(f"delivery case {old.order_id} changed")
        return replace(new, version=old.version + 1)

    # -- parcels handed over before their case was opened ---------------------------------
    async def keep_parcel(self, order_id: str, at: datetime, session: Session) -> None:
        await self.parcels.update_one(
            {"_id": order_id}, {"$setOnInsert": {"at": at}}, upsert=True, session=session
        )

    async def kept_parcel(self, order_id: str, session: Session) -> datetime | None:
        doc = await self.parcels.find_one({"_id": order_id}, session=session)
        return doc["at"] if doc else None


async def _insert(collection: Any, doc: Doc, session: Session) -> None:
    """Insert; a document that appeared since we looked means read again (a transient error:
    the transaction is retried)."""
    try:
        await collection.insert_one(doc, session=session)
    except DuplicateKeyError as exc:
        raise StaleWrite(f"{collection.name} {doc['_id']} was just created") from exc
