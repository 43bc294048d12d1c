"""Message metadata carried in Kafka headers (never in the body, which is the seed's JSON)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.base import Timestamp

SCHEMA_VERSION = "1"


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """`message_id` is the dedupe key; `correlation_id` is the order or request id carried
    through a whole saga; `causation_id` is the message_id of the message that caused this one."""

    model_config = ConfigDict(frozen=True)

    message_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    correlation_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    causation_id: str | None = None
    type: str
    schema_version: str = SCHEMA_VERSION
    occurred_at: Timestamp = Field(default_factory=_now)

    def to_headers(self) -> dict[str, str]:
        headers = {
            "message_id": self.message_id,
            "correlation_id": self.correlation_id,
            "type": self.type,
            "schema_version": self.schema_version,
            # as every timestamp on the wire: ISO 8601 in UTC with T and Z (docs/conventions.md)
            "occurred_at": self.model_dump(mode="json", include={"occurred_at"})["occurred_at"],
        }
        if self.causation_id:
            headers["causation_id"] = self.causation_id
        return headers

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str | bytes] | Iterable[tuple[str, bytes]]
    ) -> Envelope:
        items = headers.items() if isinstance(headers, Mapping) else headers
        raw = {k: v.decode() if isinstance(v, bytes) else v for k, v in items}
        known = {k: raw[k] for k in cls.model_fields if raw.get(k)}
        known.setdefault("type", "unknown")
        return cls.model_validate(known)

    def caused(self, type_: str, **overrides: str) -> Envelope:
        """The envelope of a message caused by this one: same correlation, new id."""
        return Envelope(
            type=type_,
            correlation_id=overrides.get("correlation_id", self.correlation_id),
            causation_id=self.message_id,
        )
