"""Payment attempts and each order's payment state in Mongo.

`payments`: one document per attempt, `_id` = paymentId (also the bank's idempotency key),
unique per (username, Idempotency-Key), written only by version-conditional updates.
`order_payments`: one document per order: the attempt holding it, the captured payment and
the reversal tombstone; claimed with a conditional update so that two attempts never run for
one order at once, which is what keeps captured payments at one per order.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from payment_svc.domain import Attempt, OrderPayments, check_transition
from schemas.payment_http import PaymentState as P
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc, due_by
from servicekit.sweeps import earliest

Session = AsyncClientSession | None


def attempt_doc(a: Attempt) -> Doc:
    return {
        "_id": a.payment_id,
        "orderId": a.order_id,
        "username": a.username,
        "idemKey": a.idem_key,
        "amount": a.amount,
        "currency": a.currency,
        "method": a.method.value,
        "masked": a.masked,
        "purpose": a.purpose.value,
        "via": a.via.value,
        "meansId": a.means_id,
        "accountId": a.account_id,
        "refunded": 0,
        "refundReserved": 0,
        "status": P.PENDING.value,
        "createdAt": a.created_at,
        "updatedAt": a.created_at,
        "version": 0,
    }


def order_state(doc: Doc | None) -> OrderPayments:
    if doc is None:
        return OrderPayments()
    return OrderPayments(doc.get("holder"), doc.get("paid"), bool(doc.get("reversed")))


class Payments:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.payments = db.payments
        self.orders = db.order_payments

    async def ensure_indexes(self) -> None:
        await self.payments.create_index(
            [("username", ASCENDING), ("idemKey", ASCENDING)], unique=True
        )
        await self.payments.create_index([("orderId", ASCENDING)])
        await self.payments.create_index([("status", ASCENDING), ("refundDueAt", ASCENDING)])
        await self.payments.create_index([("recheckAt", ASCENDING)], sparse=True)

    # -- reads -----------------------------------------------------------------------------------
    async def get(self, payment_id: str, session: Session = None) -> Doc | None:
        return await self.payments.find_one({"_id": payment_id}, session=session)

    async def by_key(self, username: str, key: str, session: Session = None) -> Doc | None:
        query = {"username": username, "idemKey": key}
        return await self.payments.find_one(query, session=session)

    async def order(self, order_id: str, session: Session = None) -> OrderPayments:
        return order_state(await self.orders.find_one({"_id": order_id}, session=session))

    async def due_rechecks(self, now: datetime, limit: int = 100) -> list[Doc]:
        return await self.payments.find({"recheckAt": due_by(now)}).limit(limit).to_list()

    async def due_refunds(self, now: datetime, limit: int = 100) -> list[Doc]:
        query = {"status": P.REFUND_PENDING.value, "refundDueAt": {"$lte": now}}
        return await self.payments.find(query).limit(limit).to_list()

    async def next_refund_due(self) -> datetime | None:
        """When the earliest refund put off (the bank away) is due again."""
        return await earliest(self.payments, {"status": P.REFUND_PENDING.value}, "refundDueAt")

    # -- writes ----------------------------------------------------------------------------------
    async def open_order(self, order_id: str) -> None:
        """Make sure the order's document exists, so that claiming it is a plain conditional
        update inside the transaction (concurrent inserts there would not retry)."""
        with contextlib.suppress(DuplicateKeyError):  # someone else created it first
            await self.orders.update_one(
                {"_id": order_id},
                {"$setOnInsert": {"holder": None, "paid": None, "reversed": False}},
                upsert=True,
            )

    async def claim(self, order_id: str, payment_id: str, session: Session) -> bool:
        result = await self.orders.update_one(
            {"_id": order_id, "holder": None, "paid": None, "reversed": False},
            {"$set": {"holder": payment_id}},
            session=session,
        )
        return result.modified_count == 1

    async def let_go(self, order_id: str, payment_id: str, paid: bool, session: Session) -> None:
        """The attempt is settled: it no longer holds the order; if captured, it paid it."""
        fields: Doc = {"holder": None, **({"paid": payment_id} if paid else {})}
        await self.orders.update_one(
            {"_id": order_id, "holder": payment_id}, {"$set": fields}, session=session
        )

    async def mark_reversed(self, order_id: str, session: Session) -> OrderPayments:
        try:
            await self.orders.update_one(
                {"_id": order_id},
                {
                    "$set": {"reversed": True},
                    "$setOnInsert": {"holder": None, "paid": None},
                },
                upsert=True,
                session=session,
            )
        except DuplicateKeyError as exc:
            raise StaleWrite(f"order {order_id} created concurrently") from exc
        return await self.order(order_id, session)

    async def insert(
        self, attempt: Attempt, session: Session, recheck_at: datetime | None = None
    ) -> Doc:
        """The new attempt; `recheckAt`: when to ask the bank about it, should its answer
        never be recorded (a crash, a timeout, a QR code without a callback)."""
        doc = attempt_doc(attempt)
        if recheck_at is not None:
            doc["recheckAt"] = recheck_at
        await self.payments.insert_one(doc, session=session)
        return doc

    async def update(
        self,
        doc: Doc,
        fields: Doc,
        session: Session,
        *,
        status: P | None = None,
        at: datetime,
        unset: tuple[str, ...] = (),
    ) -> Doc:
        """Write `fields` (and a status change) if nobody else did since `doc` was read."""
        if status is not None:
            check_transition(P(doc["status"]), status)
            fields = {**fields, "status": status.value}
        change: dict[str, Any] = {"$set": {**fields, "updatedAt": at}, "$inc": {"version": 1}}
        if unset:
            change["$unset"] = dict.fromkeys(unset, "")
        result = await self.payments.update_one(
            {"_id": doc["_id"], "version": doc["version"]}, change, session=session
        )
        if result.modified_count != 1:
            raise StaleWrite(f"payment {doc['_id']} changed while being updated")
        new = {**doc, **change["$set"], "version": doc["version"] + 1}
        for name in unset:
            new.pop(name, None)
        return new

    async def mark_credited(self, payment_id: str, request_id: str, session: Session) -> None:
        """Billing credited what this payment bought (a top-up): shown with the payment."""
        await self.payments.update_one(
            {"_id": payment_id}, {"$set": {"credited": request_id}}, session=session
        )

    async def postpone_refund(self, doc: Doc, due: datetime) -> None:
        await self.payments.update_one(
            {"_id": doc["_id"], "status": P.REFUND_PENDING.value},
            {"$set": {"refundDueAt": due}, "$inc": {"refundAttempts": 1}},
        )
