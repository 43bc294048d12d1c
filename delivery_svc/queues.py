"""The cases' work lists after the hand-over, each found by a query and ticked off by a
conditional write, so that a loop that crashes half-way simply does the rest next round (every
call it makes is idempotent by order id):
- pickup parcels in transit the pickup point has not acknowledged yet (`pointNotified`);
- courier parcels handed over and not booked with the carrier yet (`shipmentId`);
- cancelled cases whose carrier shipment is not cancelled yet (`carrierCancelled`);
- parcels past their storage period at a point; courier parcels the carrier has not told
  about for a while (`updatedAt`);
and the wrong-code counter of a parcel at a point (`codeTries`, `lastTryAt`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from delivery_svc.repository import Repository
from schemas.delivery_http import CaseStatus, DeliveryKind
from servicekit.mongo import Doc
from servicekit.sweeps import earliest, soonest

C = CaseStatus
BATCH = 50


class Queues:
    def __init__(self, repo: Repository) -> None:
        self.cases: AsyncCollection[Doc] = repo.cases

    async def _ids(self, query: dict[str, Any]) -> list[str]:
        cursor = self.cases.find(query, {"_id": 1}).limit(BATCH)
        return [d["_id"] async for d in cursor]

    async def to_point(self) -> list[Doc]:
        query = {"status": C.IN_TRANSIT.value, "kind": "pickup", "pointNotified": {"$ne": True}}
        return await self.cases.find(query, {"pointId": 1}).limit(BATCH).to_list()

    async def point_notified(self, order_id: str) -> None:
        await self.cases.update_one({"_id": order_id}, {"$set": {"pointNotified": True}})

    async def to_book(self) -> list[Doc]:
        query = {  # in_transit too: an admin may have moved the case on before its booking
            "status": {"$in": [C.OPENED.value, C.IN_TRANSIT.value]},
            "kind": DeliveryKind.COURIER.value,
            "parcelAt": {"$ne": None},
            "shipmentId": None,
        }
        return await self.cases.find(query).limit(BATCH).to_list()

    async def booked(self, order_id: str, shipment_id: str, now: datetime) -> bool:
        """Record the shipment once (a version bump: a transaction that read the case before
        retries and sees it)."""
        done = await self.cases.update_one(
            {"_id": order_id, "shipmentId": None},
            {"$set": {"shipmentId": shipment_id, "updatedAt": now}, "$inc": {"version": 1}},
        )
        return done.modified_count == 1

    async def to_cancel_at_carrier(self) -> list[Doc]:
        query = {
            "status": C.CANCELLED.value,
            "shipmentId": {"$ne": None},
            "carrierCancelled": {"$ne": True},
        }
        return await self.cases.find(query, {"shipmentId": 1}).limit(BATCH).to_list()

    async def carrier_cancelled(self, order_id: str) -> None:
        await self.cases.update_one({"_id": order_id}, {"$set": {"carrierCancelled": True}})

    async def past_storage(self, now: datetime) -> list[str]:
        return await self._ids({"status": C.AT_PICKUP_POINT.value, "keepUntil": {"$lt": now}})

    async def quiet_shipments(self, before: datetime) -> list[Doc]:
        query = {
            "kind": DeliveryKind.COURIER.value,
            "status": {"$in": [C.OPENED.value, C.IN_TRANSIT.value, C.OUT_FOR_DELIVERY.value]},
            "shipmentId": {"$ne": None},
            "updatedAt": {"$lt": before},
        }
        return await self.cases.find(query, {"shipmentId": 1}).limit(BATCH).to_list()

    async def next_quiet(self) -> datetime | None:
        """The earliest last change of a booked courier shipment on its way: it is looked up
        at the carrier once it has been quiet for the tracking timeout (quiet_shipments)."""
        on_the_way = (C.OPENED, C.IN_TRANSIT, C.OUT_FOR_DELIVERY)
        kind, booked = DeliveryKind.COURIER.value, {"$ne": None}
        return soonest(
            *[
                await earliest(
                    self.cases, {"status": s.value, "kind": kind, "shipmentId": booked}, "updatedAt"
                )
                for s in on_the_way
            ]
        )

    async def next_storage_end(self) -> datetime | None:
        """When the earliest parcel kept at a pickup point is to be sent back (past_storage)."""
        return await earliest(self.cases, {"status": C.AT_PICKUP_POINT.value}, "keepUntil")

    async def touch(self, order_id: str, now: datetime) -> None:
        await self.cases.update_one({"_id": order_id}, {"$set": {"updatedAt": now}})

    async def count_try(self, order_id: str, limit: int, now: datetime) -> Doc | None:
        """Count one code attempt if fewer than `limit` are counted: one conditional write, so
        parallel guesses cannot slip past the limit. None: not counted (read why)."""
        return await self.cases.find_one_and_update(
            {
                "_id": order_id,
                "status": C.AT_PICKUP_POINT.value,
                "codeTries": {"$not": {"$gte": limit}},
            },
            {"$inc": {"codeTries": 1}, "$set": {"lastTryAt": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def restart_tries(self, doc: Doc, now: datetime) -> bool:
        """After the lock: the count starts again at this attempt (only if nobody else did)."""
        done = await self.cases.update_one(
            {"_id": doc["_id"], "codeTries": doc["codeTries"], "lastTryAt": doc["lastTryAt"]},
            {"$set": {"codeTries": 1, "lastTryAt": now}},
        )
        return done.modified_count == 1
