"""Idempotent consumer: the handled message_id is recorded in the same transaction as the state
change it causes. A duplicate key means the message was handled before: skip it.

A handler whose every write is already keyed by the message (an upsert that only inserts,
under an id made from the message or its cause) and that emits nothing is marked `keyed`: a
redelivery finds its document there and changes nothing, so its consumer records no claim
(one write less per message)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from servicekit.mongo import Doc, utcnow

COLLECTION = "inbox"
KEEP_SECONDS = 7 * 24 * 3600
F = TypeVar("F", bound=Callable[..., Any])
_KEYED: set[Callable[..., Any]] = set()


def keyed(handler: F) -> F:
    """Mark a handler whose effects are keyed by the message itself (see above): no claim."""
    _KEYED.add(handler)
    return handler


def needs_claim(handler: Callable[..., Any]) -> bool:
    return handler not in _KEYED


class AlreadyHandled(Exception):
    """This consumer has applied this message before."""


async def ensure_indexes(collection: AsyncCollection[Doc]) -> None:
    await collection.create_index("handled_at", expireAfterSeconds=KEEP_SECONDS)


def claim_doc(consumer: str, message_id: str, at: datetime) -> Doc:
    return {"_id": f"{consumer}:{message_id}", "handled_at": at}


async def claim(
    collection: AsyncCollection[Doc], session: AsyncClientSession, consumer: str, message_id: str
) -> None:
    """Record the message as handled by `consumer`, or raise AlreadyHandled (which aborts the
    caller's transaction, so nothing of the duplicate is applied)."""
    try:
        await collection.insert_one(claim_doc(consumer, message_id, utcnow()), session=session)
    except DuplicateKeyError as exc:
        raise AlreadyHandled(message_id) from exc


async def claim_many(
    collection: AsyncCollection[Doc],
    session: AsyncClientSession,
    claims: list[tuple[str, str]],
) -> None:
    """Record several (consumer, message_id) as handled in one write. One of them handled
    before fails the write (and with it the caller's transaction: nothing is applied)."""
    now = utcnow()
    docs = [claim_doc(consumer, message_id, now) for consumer, message_id in claims]
    await collection.insert_many(docs, ordered=False, session=session)
