"""auth_svc's documents: users, sessions, login failures, verification codes, reset tokens."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from auth_svc.domain import normalize_phone
from servicekit.errors import InvalidRequest
from servicekit.mongo import Doc

Session = AsyncClientSession | None


class Repository:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.users = db.users
        self.sessions = db.sessions
        self.codes = db.verification_codes
        self.resets = db.reset_tokens

    async def ensure_indexes(self) -> None:
        await self.users.create_index("email", unique=True)
        await self.users.create_index("phone", unique=True)
        await self.users.create_index([("createdAt", ASCENDING)])
        await self.sessions.create_index("expiresAt", expireAfterSeconds=0)
        await self.sessions.create_index("username")
        await self.codes.create_index("expiresAt", expireAfterSeconds=3600)
        await self.resets.create_index("expiresAt", expireAfterSeconds=3600)
        await self.resets.create_index("username")

    # users -------------------------------------------------------------------------------
    async def user(self, username: str, session: Session = None) -> Doc | None:
        return await self.users.find_one({"_id": username.lower()}, session=session)

    async def user_by_login(self, login: str) -> Doc | None:
        """By e-mail, phone or username, whichever the login's shape says (a username can no
        longer look like a contact; an older one that does is still found last)."""
        if "@" in login:
            return await self.users.find_one({"email": login.lower()})
        try:
            phone = normalize_phone(login)
        except InvalidRequest:
            phone = None
        by_phone = phone and await self.users.find_one({"phone": phone})
        return by_phone or await self.users.find_one({"_id": login.lower()})

    async def user_by_contact(self, email: str | None, phone: str | None) -> Doc | None:
        query = {"email": email} if email else {"phone": phone}
        return await self.users.find_one(query)

    async def insert_user(self, doc: Doc, session: Session) -> None:
        await self.users.insert_one(doc, session=session)

    async def update_user(self, username: str, changes: Doc, session: Session = None) -> bool:
        result = await self.users.update_one(
            {"_id": username.lower()}, {"$set": changes, "$inc": {"version": 1}}, session=session
        )
        return result.matched_count == 1

    async def add_role(self, username: str, role: str, session: Session = None) -> bool:
        result = await self.users.update_one(
            {"_id": username.lower()},
            {"$addToSet": {"roles": role}, "$inc": {"version": 1}},
            session=session,
        )
        return result.matched_count == 1

    async def page_users(self, q: str | None, page: int, size: int) -> tuple[list[Doc], int]:
        query: dict[str, Any] = {}
        if q:
            pattern = {"$regex": re.escape(q), "$options": "i"}
            query = {
                "$or": [
                    {"username": pattern},
                    {"email": pattern},
                    {"phone": pattern},
                    {"lastName": pattern},
                ]
            }
        cursor = self.users.find(query).sort("createdAt", ASCENDING).skip(page * size).limit(size)
        return await cursor.to_list(), await self.users.count_documents(query)

    # sessions: stored and ended under the user's _id (the lower-cased username) ------------
    async def add_session(
        self, digest: str, username: str, now: datetime, ttl: timedelta, session: Session = None
    ) -> None:
        doc = {"_id": digest, "username": username.lower(), "createdAt": now, "lastSeenAt": now}
        await self.sessions.insert_one({**doc, "expiresAt": now + ttl}, session=session)

    async def live_session(self, digest: str, now: datetime, idle: timedelta) -> Doc | None:
        live = {"_id": digest, "expiresAt": {"$gt": now}, "lastSeenAt": {"$gt": now - idle}}
        return await self.sessions.find_one(live)

    async def touch_session(self, digest: str, now: datetime) -> None:
        await self.sessions.update_one({"_id": digest}, {"$max": {"lastSeenAt": now}})

    async def end_session(self, digest: str, session: Session = None) -> None:
        await self.sessions.delete_one({"_id": digest}, session=session)

    async def end_sessions(
        self, username: str, keep: str | None = None, session: Session = None
    ) -> int:
        query: Doc = {"username": username.lower()}
        if keep:
            query["_id"] = {"$ne": keep}
        return (await self.sessions.delete_many(query, session=session)).deleted_count

    # reset tokens ------------------------------------------------------------------------
    async def void_resets(self, username: str, now: datetime, session: Session = None) -> None:
        """Every unused reset token of the user stops working (a newer one was issued, or the
        password changed)."""
        await self.resets.update_many(
            {"username": username.lower(), "usedAt": None},
            {"$set": {"usedAt": now}},
            session=session,
        )
