"""The unit of work a handler or an HTTP route gets: the transaction's session and the messages
it emits, which go to the outbox in the same transaction."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field

from pydantic import BaseModel
from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from schemas.envelope import Envelope
from schemas.topics import Topic
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc
from servicekit.outbox import outbox_doc


def encode(message: BaseModel) -> bytes:
    """The wire body: the seed's JSON field names (aliases), no nulls."""
    return message.model_dump_json(by_alias=True, exclude_none=True).encode()


@dataclass
class Tx:
    session: AsyncClientSession
    db: AsyncDatabase[Doc]
    cause: Envelope | None = None
    outgoing: list[Doc] = field(default_factory=list)
    # run once the transaction has committed (wake a loop that acts on what it wrote)
    committed: list[Callable[[], None]] = field(default_factory=list)

    def on_commit(self, fn: Callable[[], None]) -> None:
        """Call `fn()` after this transaction has committed (never if it does not)."""
        self.committed.append(fn)

    def emit(
        self, topic: Topic, message: BaseModel, key: str, correlation_id: str | None = None
    ) -> Envelope:
        """Queue `message` for `topic`; it is written to the outbox with this transaction.
        The type header is the model's class name; correlation follows the cause."""
        type_ = type(message).__name__
        if self.cause is not None:
            envelope = self.cause.caused(type_)
            if correlation_id:
                envelope = envelope.model_copy(update={"correlation_id": correlation_id})
        else:
            envelope = Envelope(type=type_, correlation_id=correlation_id or key)
        self.outgoing.append(outbox_doc(topic, encode(message), key, envelope))
        return envelope


# -- reads and writes of a batch transaction ------------------------------------------------
# A fetched batch is applied in one transaction (servicekit.consumer.apply_together). Before
# its handlers run, a subscription may read the documents they will ask for in ONE find
# (`preload`); each handler's read by id then takes its document from there instead of a
# round trip. A preloaded document is handed out once; a repository that writes one may
# `remember` the document it wrote, so the batch's next handler for the same id reads that.
# Everything else (a second read, a write the repository does not remember) goes to the
# database, so what a handler reads is always what the transaction would have read.
#
# A repository may also defer its writes of versioned documents to the end of the batch
# (`deferred`): what the handlers inserted and updated goes in ONE bulk write before the
# commit, several updates of one document folded into one, each still conditional on the
# version first read. A document changed meanwhile fails that write and the whole batch.


@dataclass
class Deferred:
    """Writes to one collection of versioned documents, made at the end of the batch."""

    collection: AsyncCollection[Doc]
    inserts: dict[Hashable, Doc] = field(default_factory=dict)
    updates: dict[Hashable, tuple[int, Doc, int]] = field(default_factory=dict)

    def insert(self, doc: Doc) -> None:
        self.inserts[doc["_id"]] = doc

    def update(self, read: Doc, fields: Doc) -> None:
        """`$set: fields, $inc: {version: 1}` on `read` (as read by this batch)."""
        _id = read["_id"]
        if _id in self.inserts:
            self.inserts[_id] = {**self.inserts[_id], **fields, "version": read["version"] + 1}
        elif _id in self.updates:
            version, earlier, count = self.updates[_id]
            self.updates[_id] = (version, {**earlier, **fields}, count + 1)
        else:
            self.updates[_id] = (read["version"], dict(fields), 1)

    async def flush(self, session: AsyncClientSession) -> None:
        ops: list[InsertOne[Doc] | UpdateOne] = [InsertOne(d) for d in self.inserts.values()]
        ops += [
            UpdateOne({"_id": _id, "version": v}, {"$set": f, "$inc": {"version": n}})
            for _id, (v, f, n) in self.updates.items()
        ]
        if not ops:
            return
        done = await self.collection.bulk_write(ops, ordered=True, session=session)
        if done.modified_count != len(self.updates):
            raise StaleWrite(f"{self.collection.name}: a document changed during the batch")


@dataclass
class _Batch:
    docs: dict[tuple[str, Hashable], Doc | None] = field(default_factory=dict)
    writes: dict[str, Deferred] = field(default_factory=dict)


_batch: ContextVar[_Batch | None] = ContextVar("batch", default=None)


@contextlib.asynccontextmanager
async def batch_unit(session: AsyncClientSession) -> AsyncIterator[None]:
    """The scope of one attempt of a batch transaction (a retried attempt starts empty); the
    deferred writes are made when the body ends without an error."""
    batch = _Batch()
    token = _batch.set(batch)
    try:
        yield
        for later in batch.writes.values():
            await later.flush(session)
    finally:
        _batch.reset(token)


def deferred(collection: AsyncCollection[Doc]) -> Deferred | None:
    """This batch's deferred writes to `collection`; None outside a batch transaction (write
    now)."""
    batch = _batch.get()
    if batch is None:
        return None
    return batch.writes.setdefault(collection.full_name, Deferred(collection))


async def preload(
    collection: AsyncCollection[Doc], ids: Iterable[Hashable], session: AsyncClientSession
) -> None:
    """Read the documents with these ids in one find, for the handlers of this batch (no-op
    outside a batch transaction); an id with no document is remembered as missing."""
    batch = _batch.get()
    if batch is None:
        return
    docs = batch.docs
    wanted = [i for i in dict.fromkeys(ids) if (collection.full_name, i) not in docs]
    if not wanted:
        return
    found = {d["_id"]: d async for d in collection.find({"_id": {"$in": wanted}}, session=session)}
    for i in wanted:
        docs[(collection.full_name, i)] = found.get(i)


async def find_by_id(
    collection: AsyncCollection[Doc], _id: Hashable, session: AsyncClientSession | None
) -> Doc | None:
    batch = _batch.get()
    key = (collection.full_name, _id)
    if session is not None and batch is not None and key in batch.docs:
        return batch.docs.pop(key)
    return await collection.find_one({"_id": _id}, session=session)


def remember(collection: AsyncCollection[Doc], doc: Doc) -> None:
    """`doc` is what this batch transaction just wrote: the next read of its id gets it."""
    batch = _batch.get()
    if batch is not None:
        batch.docs[(collection.full_name, doc["_id"])] = doc
