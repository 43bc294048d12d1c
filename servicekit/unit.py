"""The unit of work a handler or an HTTP route gets: the transaction's session and the messages
it emits, which go to the outbox in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from schemas.envelope import Envelope
from schemas.topics import Topic
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
