"""Idempotent HTTP: a mutating request carrying an `Idempotency-Key` header is answered once;
a retry with the same key (same caller) gets the stored answer instead of a second effect, and
the key sent with another body is refused with 422 (the IETF idempotency-key draft)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from servicekit.errors import Conflict, DomainError, InvalidRequest
from servicekit.http import body_digest
from servicekit.mongo import Doc, utcnow

HEADER = "Idempotency-Key"
COLLECTION = "idempotency"
KEEP_SECONDS = 24 * 3600
# a request still "running" after this long died with its process: a retry may take it over
LEASE = timedelta(seconds=30)


class KeyReused(DomainError):
    """The Idempotency-Key was first sent with another request body."""

    status = 422


async def ensure_indexes(collection: AsyncCollection[Doc]) -> None:
    await collection.create_index("createdAt", expireAfterSeconds=KEEP_SECONDS)


def key_of(request: web.Request, required: bool = True) -> str | None:
    key = request.headers.get(HEADER)
    if key is None and required:
        raise InvalidRequest(f"{HEADER} header is required")
    if key is not None and not 1 <= len(key) <= 200:
        raise InvalidRequest(f"{HEADER} must be 1 to 200 characters")
    return key


async def once(
    collection: AsyncCollection[Doc],
    owner: str,
    key: str | None,
    answer: Callable[[], Awaitable[web.Response]],
    fingerprint: str | None = None,
) -> web.Response:
    """Run `answer()` once per (owner, key) and replay its response afterwards. A second
    request while the first is still running gets 409; one whose first run died with its
    process (after LEASE) runs it again; one with another body than the first gets 422.
    The body is told by `fingerprint`, by default the digest of what `read_body` parsed."""
    if key is None:
        return await answer()
    _id = f"{owner}:{key}"
    digest = body_digest() if fingerprint is None else fingerprint
    try:
        await collection.insert_one(
            {"_id": _id, "state": "running", "fingerprint": digest, "createdAt": utcnow()}
        )
    except DuplicateKeyError:
        replay = await earlier_answer(collection, _id, digest)
        if replay is not None:
            return replay
    try:
        response = await answer()
    except BaseException:
        await collection.delete_one({"_id": _id})  # nothing was done: the key may be reused
        raise
    body = response.text or ""
    await collection.update_one(
        {"_id": _id}, {"$set": {"state": "done", "status": response.status, "body": body}}
    )
    return response


async def earlier_answer(
    collection: AsyncCollection[Doc], _id: str, digest: str
) -> web.Response | None:
    """The stored answer to the key's first request; None when that one died running and
    this request takes it over; 422 for another body, 409 while the first still runs."""
    first = await collection.find_one({"_id": _id})
    # a key stored before bodies were fingerprinted matches any body
    if first is not None and first.get("fingerprint", digest) != digest:
        raise KeyReused(f"this {HEADER} was used with another request body")
    if first is not None and first["state"] == "done":
        return web.Response(
            text=first["body"], status=first["status"], content_type="application/json"
        )
    if not await take_over(collection, first):
        raise Conflict("a request with this Idempotency-Key is in progress")
    return None


async def take_over(collection: AsyncCollection[Doc], running: Doc | None) -> bool:
    """Claim a request whose process died while running it (its lease ran out): the
    operations behind an Idempotency-Key are themselves safe to run again."""
    if running is None or running["createdAt"] > utcnow() - LEASE:
        return False
    claimed = await collection.update_one(
        {"_id": running["_id"], "state": "running", "createdAt": running["createdAt"]},
        {"$set": {"createdAt": utcnow()}},
    )
    return claimed.modified_count == 1


def stored_json(body: str) -> Any:
    return json.loads(body) if body else None
