"""billing's ledger documents.

`wallets`: one per user, `_id` = username. `entries`: one per change of any balance, `_id` =
the request's id, written in the same transaction as the balance it changes (so a balance is
always the sum of its entries, and a request id seen again is found here). `refused`: the
requests refused, so a repeated one gets the same answer. Gift cards (`gift_cards`) live in
`billing_svc.gift_cards`; their balances move through here like a wallet's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from billing_svc.domain import Account, Outcome, Wallet, signed
from schemas.billing import AccountKind, BillingRequest
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc

WALLETS = "wallets"
GIFT_CARDS = "gift_cards"
ENTRIES = "entries"
REFUSED = "refused"
ACTIVE = "ACTIVE"
Session = AsyncClientSession | None


def wallet_from_doc(doc: Doc) -> Wallet:
    return Wallet(
        username=doc["_id"],
        balance=doc["balance"],
        currency=doc["currency"],
        version=doc["version"],
    )


def account_from_doc(kind: AccountKind, doc: Doc) -> Account:
    if kind is AccountKind.WALLET:
        owner, active = doc["_id"], True
    else:
        owner, active = doc.get("owner"), doc["status"] == ACTIVE
    return Account(kind, doc["_id"], doc["balance"], doc["currency"], owner, active, doc["version"])


def entry_doc(
    entry_id: str, account: tuple[AccountKind, str], amount: int, balance_after: int, **about: Any
) -> Doc:
    """`about`: reason, paymentId, orderId, username, at."""
    kind, account_id = account
    return {
        "_id": entry_id,
        "accountKind": kind.value,
        "accountId": account_id,
        "amount": amount,
        "balanceAfter": balance_after,
        **about,
    }


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

    async def get(self, username: str, session: Session = None) -> Wallet | None:
        doc = await self.collection.find_one({"_id": username}, session=session)
        return None if doc is None else wallet_from_doc(doc)


class Ledger:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.accounts = {AccountKind.WALLET: db[WALLETS], AccountKind.GIFT_CARD: db[GIFT_CARDS]}
        self.entries = db[ENTRIES]
        self.refused = db[REFUSED]

    async def ensure_indexes(self) -> None:
        await self.entries.create_index([("accountKind", 1), ("accountId", 1), ("at", DESCENDING)])

    async def account(self, kind: AccountKind, account_id: str, session: Session) -> Account | None:
        doc = await self.accounts[kind].find_one({"_id": account_id}, session=session)
        return None if doc is None else account_from_doc(kind, doc)

    async def answered(self, request_id: str, session: Session) -> Outcome | None:
        """The outcome given to this request id before, if any."""
        entry = await self.entries.find_one({"_id": request_id}, session=session)
        if entry is not None:
            return Outcome(None, entry["balanceAfter"])
        refusal = await self.refused.find_one({"_id": request_id}, session=session)
        if refusal is not None:
            return Outcome(refusal["failed"], refusal.get("balance"))
        return None

    async def refuse(
        self, request: BillingRequest, outcome: Outcome, now: datetime, session: Session
    ) -> None:
        doc = {"_id": request.request_id, "failed": outcome.reason, "balance": outcome.balance}
        await self.refused.insert_one({**doc, "at": now}, session=session)

    async def apply(
        self,
        request: BillingRequest,
        account: Account | None,
        outcome: Outcome,
        now: datetime,
        session: Session,
    ) -> None:
        """Write the new balance and its entry: the debit only if the balance still covers it
        and nothing changed since `account` was read (else StaleWrite: read again)."""
        assert outcome.balance is not None  # noqa: S101 - type narrowing, not a guard
        amount = signed(request)
        if account is None:
            await self._open_with(request, now, session)
        else:
            await self._move(account, amount, session)
        where = (request.account_kind, request.account_id)
        entry = entry_doc(
            request.request_id,
            where,
            amount,
            outcome.balance,
            reason=request.reason.value,
            paymentId=request.payment_id,
            orderId=request.order_id,
            username=request.username,
            at=now,
        )
        await self.entries.insert_one(entry, session=session)

    async def _move(self, account: Account, amount: int, session: Session) -> None:
        unchanged = {"_id": account.id, "version": account.version}
        if amount < 0:
            unchanged["balance"] = {"$gte": -amount}
        changed = await self.accounts[account.kind].update_one(
            unchanged, {"$inc": {"balance": amount, "version": 1}}, session=session
        )
        if changed.modified_count != 1:
            raise StaleWrite(f"{account.kind} {account.id} changed while it was debited")

    async def _open_with(self, request: BillingRequest, now: datetime, session: Session) -> None:
        assert request.account_kind is AccountKind.WALLET, "only a wallet opens by a credit"  # noqa: S101 - type narrowing, not a guard
        wallet = {
            "_id": request.account_id,
            "balance": request.amount,
            "currency": request.currency,
            "version": 1,
            "createdAt": now,
        }
        await self.accounts[AccountKind.WALLET].insert_one(wallet, session=session)

    async def recent(
        self, kind: AccountKind, account_id: str, limit: int, session: Session = None
    ) -> list[Doc]:
        """The account's latest entries, newest first."""
        query = {"accountKind": kind.value, "accountId": account_id}
        newest = [("at", DESCENDING), ("_id", DESCENDING)]
        found = self.entries.find(query, session=session).sort(newest)
        return [doc async for doc in found.limit(limit)]
