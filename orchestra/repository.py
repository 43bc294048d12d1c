"""Saga documents: the state machine's state plus what the participants need to be asked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from orchestra.domain import Saga, SagaState, StepState
from schemas.saga import Confirmator, OrderConfirmationRequest
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc
from servicekit.sweeps import earliest, soonest
from servicekit.unit import deferred, find_by_id, preload, remember

Session = AsyncClientSession | None
ACTIVE = [SagaState.CONFIRMING.value, SagaState.COMPENSATING.value]


def to_saga(doc: Doc) -> Saga:
    return Saga(
        order_id=doc["_id"],
        state=SagaState(doc["state"]),
        steps={Confirmator(k): StepState(v) for k, v in doc["steps"].items()},
        deadline=doc["deadline"],
        reason=doc.get("reason"),
        history=tuple(doc.get("history", ())),
    )


def saga_fields(saga: Saga, now: datetime) -> Doc:
    return {
        "state": saga.state.value,
        "steps": {k.value: v.value for k, v in saga.steps.items()},
        "deadline": saga.deadline,
        "reason": saga.reason,
        "history": list(saga.history),
        "updatedAt": now,
    }


class Sagas:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.sagas = db.sagas

    async def ensure_indexes(self) -> None:
        await self.sagas.create_index([("state", ASCENDING), ("deadline", ASCENDING)])
        await self.sagas.create_index([("createdAt", DESCENDING)])

    async def get(self, order_id: str, session: Session = None) -> Doc | None:
        return await find_by_id(self.sagas, order_id, session)

    async def preload(self, order_ids: list[str], session: AsyncClientSession) -> None:
        """The sagas a batch of messages is about, in one read (servicekit.unit.preload)."""
        await preload(self.sagas, order_ids, session)

    async def insert(
        self,
        saga: Saga,
        request: OrderConfirmationRequest,
        now: datetime,
        session: Session,
        extra: Doc | None = None,
    ) -> None:
        doc = {
            "_id": saga.order_id,
            "version": 0,
            "orderVersion": request.version,
            "username": request.username,
            "request": request.to_wire(),
            "createdAt": now,
            **saga_fields(saga, now),
            **(extra or {}),
        }
        if (later := deferred(self.sagas)) is not None:
            later.insert(doc)  # in a batch: with the batch's other saga writes, in one go
        else:
            await self.sagas.insert_one(doc, session=session)
        remember(self.sagas, doc)

    async def save(
        self, doc: Doc, saga: Saga, now: datetime, session: Session, extra: Doc | None = None
    ) -> None:
        """Write the new state (and `extra` fields) if nobody else did since `doc` was read."""
        fields = {**saga_fields(saga, now), **(extra or {})}
        if (later := deferred(self.sagas)) is not None:
            later.update(doc, fields)  # in a batch: folded with its other writes of this saga
        else:
            result = await self.sagas.update_one(
                {"_id": doc["_id"], "version": doc["version"]},
                {"$set": fields, "$inc": {"version": 1}},
                session=session,
            )
            if result.modified_count != 1:
                raise StaleWrite(f"saga {doc['_id']} changed while being updated")
        remember(self.sagas, {**doc, **fields, "version": doc["version"] + 1})

    async def overdue(self, now: datetime, limit: int = 100) -> list[str]:
        """Active sagas past their deadline: one (state, deadline) index range per state (the
        embedded database plans `state: {$in: [...]}` plus a range as a full scan, which
        every second read every saga ever run)."""
        found: list[str] = []
        for state in ACTIVE:
            cursor = self.sagas.find({"state": state, "deadline": {"$lt": now}}, {"_id": 1})
            found += [d["_id"] async for d in cursor.limit(limit - len(found))]
            if len(found) >= limit:
                break
        return found

    async def next_deadline(self) -> datetime | None:
        """The earliest deadline of an active saga (the sweeper sleeps until then)."""
        return soonest(*[await earliest(self.sagas, {"state": s}, "deadline") for s in ACTIVE])

    async def page(self, state: str | None, skip: int, limit: int) -> tuple[list[Doc], int]:
        query: dict[str, Any] = {"state": state} if state else {}
        cursor = self.sagas.find(query).sort("createdAt", DESCENDING).skip(skip).limit(limit)
        return await cursor.to_list(), await self.sagas.count_documents(query)
