"""notification's documents: notification accounts and the notification log.

A notification waiting to be sent carries `dueAt` (when to try next); while a sender holds it,
`dueAt` is the end of that sender's lease. Sent and failed ones have no `dueAt`, so one index
on it finds all work that is due.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from notification_svc.domain import (
    Account,
    Kind,
    Notification,
    Outcome,
    Retry,
    Sent,
    Status,
)
from schemas.notification import Channel
from servicekit.mongo import Doc, due_by
from servicekit.sweeps import earliest
from servicekit.unit import find_by_id, preload, remember

ACCOUNTS = "accounts"
NOTIFICATIONS = "notifications"
NEWEST_FIRST = [("createdAt", DESCENDING), ("_id", DESCENDING)]
PUBLIC = {"secret": 0, "claim": 0}


def to_doc(n: Notification) -> Doc:
    doc = {
        "_id": n.id,
        "username": n.username,
        "channel": n.channel.value,
        "kind": n.kind.value,
        "to": n.to,
        "payload": n.payload,
        "status": n.status.value,
        "attempts": n.attempts,
        "createdAt": n.created_at,
        "dueAt": n.due_at,
        "secret": n.secret,
        "expiresAt": n.expires_at,
        "error": n.error,
    }
    return {k: v for k, v in doc.items() if v is not None}


def from_doc(doc: Doc) -> Notification:
    return Notification(
        id=doc["_id"],
        username=doc["username"],
        channel=Channel(doc["channel"]),
        kind=Kind(doc["kind"]),
        to=doc["to"],
        payload=doc["payload"],
        created_at=doc["createdAt"],
        secret=doc.get("secret"),
        expires_at=doc.get("expiresAt"),
        status=Status(doc["status"]),
        attempts=doc["attempts"],
        due_at=doc.get("dueAt"),
        sent_at=doc.get("sentAt"),
        provider_id=doc.get("providerId"),
        error=doc.get("error"),
        receipt=(doc.get("receipt") or {}).get("status"),
    )


def outcome_update(outcome: Outcome) -> Doc:
    final = {"secret": "", "dueAt": "", "claim": ""}
    if isinstance(outcome, Sent):
        sent = {"status": Status.SENT.value, "providerId": outcome.provider_id}
        return {"$set": {**sent, "sentAt": outcome.at}, "$unset": final}
    if isinstance(outcome, Retry):
        retry = {"status": Status.PENDING.value, "dueAt": outcome.at, "error": outcome.error}
        return {"$set": retry, "$unset": {"claim": ""}}
    return {"$set": {"status": Status.FAILED.value, "error": outcome.error}, "$unset": final}


class Accounts:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.collection = db[ACCOUNTS]

    async def open(self, account: Account, now: datetime, session: AsyncClientSession) -> bool:
        """Create the account unless it exists; True if it was created."""
        fields = {"channels": account.channels, "createdAt": now}
        result = await self.collection.update_one(
            {"_id": account.username}, {"$setOnInsert": fields}, upsert=True, session=session
        )
        return result.upserted_id is not None

    async def preload(self, usernames: Iterable[str], session: AsyncClientSession) -> None:
        """Read these users' accounts in one find for the handlers of a batch."""
        await preload(self.collection, usernames, session)

    async def addresses(
        self, username: str, session: AsyncClientSession
    ) -> tuple[dict[str, str], frozenset[Channel] | None]:
        """In one read: the user's addresses by channel (empty if they have no account here)
        and the channels they chose to be notified by (None: never chose, all of them)."""
        doc = await find_by_id(self.collection, username, session)
        if doc is None:
            return {}, None
        remember(self.collection, doc)  # read-only here: the next message may read it too
        chosen = frozenset(Channel(c) for c in doc["chosen"]) if "chosen" in doc else None
        return dict(doc["channels"]), chosen

    async def preferences(self, username: str) -> tuple[dict[str, str], list[str]] | None:
        """The user's addresses and chosen channels (all they have, if they never chose)."""
        doc = await self.collection.find_one({"_id": username})
        if doc is None:
            return None
        return dict(doc["channels"]), list(doc.get("chosen", doc["channels"].keys()))

    async def choose(self, username: str, channels: list[str], now: datetime) -> bool:
        """Keep the user's choice of channels; False if they have no account here."""
        result = await self.collection.update_one(
            {"_id": username}, {"$set": {"chosen": channels, "chosenAt": now}}
        )
        return result.matched_count == 1


class Notifications:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.collection = db[NOTIFICATIONS]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("dueAt")
        await self.collection.create_index([("username", ASCENDING), *NEWEST_FIRST])

    async def add(
        self, n: Notification, session: AsyncClientSession, claim: Doc | None = None
    ) -> bool:
        """Queue the notification unless one with its id exists (the same cause seen again);
        True if it was queued. `claim` (a sender's `claim_fields`, for one to send): queued
        already claimed by that sender for its first attempt."""
        fields = to_doc(n)
        del fields["_id"]
        if claim is not None:
            fields.update(claim, attempts=n.attempts + 1)
        result = await self.collection.update_one(
            {"_id": n.id}, {"$setOnInsert": fields}, upsert=True, session=session
        )
        return result.upserted_id is not None

    async def due(self, now: datetime, limit: int) -> list[Notification]:
        cursor = self.collection.find({"dueAt": due_by(now)}).sort("dueAt", 1).limit(limit)
        return [from_doc(doc) for doc in await cursor.to_list()]

    async def next_due(self) -> datetime | None:
        """The earliest `dueAt`: a retry's, or the end of a sender's lease (one that died)."""
        return await earliest(self.collection, {}, "dueAt")

    async def claim(self, ids: list[str], now: datetime, lease: timedelta) -> tuple[str, set[str]]:
        """Take these notifications for one send attempt each, in one write: the claim token
        and the ids this sender got (one another sender took first is not due any more: its
        lease moved `dueAt` into the future)."""
        token = uuid.uuid4().hex
        result = await self.collection.update_many(
            {"_id": {"$in": ids}, "dueAt": due_by(now)},
            {
                "$set": {
                    "status": Status.SENDING.value,
                    "claim": token,
                    "claimedAt": now,
                    "dueAt": now + lease,
                },
                "$inc": {"attempts": 1},
            },
        )
        if result.modified_count == len(ids):
            return token, set(ids)
        mine = self.collection.find({"_id": {"$in": ids}, "claim": token}, {"_id": 1})
        return token, {doc["_id"] async for doc in mine}

    async def record(self, token: str, outcomes: dict[str, Outcome]) -> int:
        """Store the attempts' outcomes in one write, except where the claim was lost to
        another sender (its lease ran out); how many were stored."""
        if not outcomes:
            return 0
        result = await self.collection.bulk_write(
            [
                UpdateOne({"_id": notification_id, "claim": token}, outcome_update(outcome))
                for notification_id, outcome in outcomes.items()
            ],
            ordered=False,
        )
        return result.modified_count

    async def receipt(
        self, notification_id: str, status: str, error: str | None, now: datetime
    ) -> bool:
        """Keep an SMS gateway's delivery receipt; a later receipt replaces an earlier one
        (the gateway repeats one we did not answer). False: no such SMS here."""
        receipt = {"status": status, "at": now, **({"error": error} if error else {})}
        result = await self.collection.update_one(
            {"_id": notification_id, "channel": Channel.SMS.value}, {"$set": {"receipt": receipt}}
        )
        return result.matched_count == 1

    async def get(self, notification_id: str) -> Notification | None:
        doc = await self.collection.find_one({"_id": notification_id}, PUBLIC)
        return None if doc is None else from_doc(doc)

    async def page(self, username: str, skip: int, limit: int) -> tuple[list[Notification], int]:
        """The user's notifications, newest first, and how many there are in all."""
        query = {"username": username}
        cursor = self.collection.find(query, PUBLIC).sort(NEWEST_FIRST).skip(skip).limit(limit)
        found = [from_doc(doc) for doc in await cursor.to_list()]
        return found, await self.collection.count_documents(query)
