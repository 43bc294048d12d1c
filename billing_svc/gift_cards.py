"""Gift-card documents and the per-user count of activation attempts.

`gift_cards`: one per paid gift-card order (`orderId` unique), found by its printed `number`
or by `codeHash` (the SHA-256 of its activation code; the code itself is never stored).
ISSUED until someone activates it, then ACTIVE and owned by them. Its balance moves through
the ledger (`billing_svc.repository.Ledger`) like a wallet's.

`activation_attempts`: one counter per (user, window), removed by a TTL index once the window
has passed.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from billing_svc.codes import AttemptWindow
from billing_svc.repository import ACTIVE, ENTRIES, GIFT_CARDS
from schemas.billing import GiftCardIssueRequest
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc

ISSUED = "ISSUED"
ATTEMPTS = "activation_attempts"


def card_doc(
    card_id: str, request: GiftCardIssueRequest, number: str, code_hash: str, now: datetime
) -> Doc:
    return {
        "_id": card_id,
        "number": number,
        "codeHash": code_hash,
        "orderId": request.order_id,
        "paymentId": request.payment_id,
        "buyer": request.buyer,
        "amount": request.amount,
        "balance": request.amount,
        "currency": request.currency,
        "design": request.design.value,
        "doneeName": request.donee_name,
        "doneeEmail": str(request.donee_email),
        "status": ISSUED,
        "owner": None,
        "issuedAt": now,
        "activatedAt": None,
        "version": 0,
    }


class GiftCards:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.cards = db[GIFT_CARDS]
        self.entries = db[ENTRIES]

    async def ensure_indexes(self) -> None:
        for field in ("number", "codeHash", "orderId"):
            await self.cards.create_index(field, unique=True)
        await self.cards.create_index([("owner", 1), ("activatedAt", DESCENDING)])

    async def of_order(self, order_id: str, session: AsyncClientSession) -> Doc | None:
        return await self.cards.find_one({"orderId": order_id}, session=session)

    async def issue(self, card: Doc, entry: Doc, session: AsyncClientSession) -> None:
        """The new card and the entry that credits its initial value, together. A clash with
        another card's random number or code (or a parallel issue for the order) is a
        StaleWrite: the handler runs again, with new random values or finding the card."""
        try:
            await self.cards.insert_one(card, session=session)
        except DuplicateKeyError as exc:
            raise StaleWrite(f"gift card clash for order {card['orderId']}: {exc}") from exc
        await self.entries.insert_one(entry, session=session)

    async def by_code(self, code_hash: str) -> Doc | None:
        return await self.cards.find_one({"codeHash": code_hash})

    async def activate(self, card_id: str, username: str, now: datetime) -> bool:
        """Bind an ISSUED card to `username`; False if someone activated it first."""
        done = await self.cards.update_one(
            {"_id": card_id, "status": ISSUED},
            {
                "$set": {"status": ACTIVE, "owner": username, "activatedAt": now},
                "$inc": {"version": 1},
            },
        )
        return done.modified_count == 1

    async def owned_by(self, username: str) -> list[Doc]:
        """The user's active cards, the most recently activated first."""
        found = self.cards.find({"owner": username, "status": ACTIVE})
        return [doc async for doc in found.sort("activatedAt", DESCENDING)]

    async def one(self, card_id: str, username: str) -> Doc | None:
        return await self.cards.find_one({"_id": card_id, "owner": username, "status": ACTIVE})


class ActivationAttempts:
    def __init__(self, db: AsyncDatabase[Doc], window: AttemptWindow) -> None:
        self.counters = db[ATTEMPTS]
        self.window = window

    async def ensure_indexes(self) -> None:
        await self.counters.create_index("expiresAt", expireAfterSeconds=0)

    def _key(self, username: str, now: datetime) -> str:
        return f"{username}:{self.window.bucket(now)}"

    async def take(self, username: str, now: datetime) -> bool:
        """Count one attempt in the user's current window if it has one left; False if not.
        The check and the count are one conditional write, so parallel attempts can never
        take more than the window's limit between them."""
        key = self._key(username, now)
        left = {"_id": key, "count": {"$lt": self.window.limit}}
        counted = {
            "$inc": {"count": 1},
            "$setOnInsert": {"username": username, "expiresAt": self.window.ends(now)},
        }
        try:
            # no counter yet: this creates it with count 1
            await self.counters.update_one(left, counted, upsert=True)
            return True
        except DuplicateKeyError:
            # the counter exists and is full, or a parallel attempt has just created it
            done = await self.counters.update_one(left, {"$inc": {"count": 1}})
            return done.modified_count == 1

    async def give_back(self, username: str, now: datetime) -> None:
        """A successful activation was no guess: it does not use up the user's attempts."""
        await self.counters.update_one(
            {"_id": self._key(username, now), "count": {"$gt": 0}}, {"$inc": {"count": -1}}
        )
