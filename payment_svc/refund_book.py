"""Admin refunds in Mongo (`refunds`): one document per refund, `_id` = refundId (also the
bank's or billing's idempotency key for it), unique per (admin, Idempotency-Key)."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from schemas.payment_http import RefundCreate
from schemas.payment_http import RefundState as R
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc, due_by
from servicekit.sweeps import earliest

Session = AsyncClientSession | None


def refund_doc(
    refund_id: str, req: RefundCreate, payment: Doc, admin: str, key: str, now: datetime
) -> Doc:
    return {
        "_id": refund_id,
        "paymentId": payment["_id"],
        "orderId": payment["orderId"],
        "username": payment["username"],
        "amount": req.amount,
        "currency": payment["currency"],
        "reason": req.reason,
        "method": payment["method"],
        "masked": payment["masked"],
        "via": payment.get("via", "bank"),
        "chargeId": payment.get("chargeId"),
        "status": R.PENDING.value,
        "createdBy": admin,
        "idemKey": key,
        "createdAt": now,
        "dueAt": now,
        "attempts": 0,
    }


class RefundBook:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.refunds = db.refunds

    async def ensure_indexes(self) -> None:
        await self.refunds.create_index(
            [("createdBy", ASCENDING), ("idemKey", ASCENDING)], unique=True
        )
        await self.refunds.create_index([("dueAt", ASCENDING)], sparse=True)
        await self.refunds.create_index([("paymentId", ASCENDING)])

    async def get(self, refund_id: str, session: Session = None) -> Doc | None:
        return await self.refunds.find_one({"_id": refund_id}, session=session)

    async def by_key(self, admin: str, key: str, session: Session = None) -> Doc | None:
        return await self.refunds.find_one({"createdBy": admin, "idemKey": key}, session=session)

    async def due(self, now: datetime, limit: int = 100) -> list[Doc]:
        return await self.refunds.find({"dueAt": due_by(now)}).limit(limit).to_list()

    async def next_due(self) -> datetime | None:
        """When the earliest refund put off (billing or the bank away) is due again."""
        return await earliest(self.refunds, {}, "dueAt")

    async def insert(self, doc: Doc, session: Session) -> None:
        await self.refunds.insert_one(doc, session=session)

    async def asked(self, ref: Doc, now: datetime, session: Session) -> None:
        """Billing was asked for the credit: the loop stops asking (its reply finishes it)."""
        await self._change(ref, {"$set": {"askedAt": now}, "$unset": {"dueAt": ""}}, session)

    async def done(self, ref: Doc, now: datetime, session: Session) -> None:
        change = {"$set": {"status": R.SUCCEEDED.value, "refundedAt": now}, "$unset": {"dueAt": ""}}
        await self._change(ref, change, session)

    async def postpone(self, ref: Doc, due: datetime) -> None:
        await self.refunds.update_one(
            {"_id": ref["_id"], "status": R.PENDING.value},
            {"$set": {"dueAt": due}, "$inc": {"attempts": 1}},
        )

    async def _change(self, ref: Doc, change: Doc, session: Session) -> None:
        result = await self.refunds.update_one(
            {"_id": ref["_id"], "status": R.PENDING.value}, change, session=session
        )
        if result.modified_count != 1:
            raise StaleWrite(f"refund {ref['_id']} changed while being updated")
