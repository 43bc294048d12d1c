"""billing's documents: one wallet per user, `_id` = username."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from billing_svc.domain import Wallet
from servicekit.mongo import Doc

WALLETS = "wallets"


def wallet_from_doc(doc: Doc) -> Wallet:
    return Wallet(
        username=doc["_id"],
        balance=doc["balance"],
        currency=doc["currency"],
        version=doc["version"],
    )


class Wallets:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.collection = db[WALLETS]

    async def open(self, wallet: Wallet, now: datetime, session: AsyncClientSession) -> bool:
        """Create the wallet unless the user has one; True if it was created. An existing
        wallet is left as it is, so a repeated registration event cannot reset a balance."""
        fields = {
            "balance": wallet.balance,
            "currency": wallet.currency,
            "version": wallet.version,
            "createdAt": now,
        }
        result = await self.collection.update_one(
            {"_id": wallet.username}, {"$setOnInsert": fields}, upsert=True, session=session
        )
        return result.upserted_id is not None

    async def get(self, username: str) -> Wallet | None:
        doc = await self.collection.find_one({"_id": username})
        return None if doc is None else wallet_from_doc(doc)
