"""The base of every wire model, the shared field types and the message-type registry.

Python attributes are snake_case; the JSON on the wire is camelCase (`to_camel`), except where a
seed spells a name otherwise (`measurments`, `lenght`, `userName`): those carry an explicit alias.
Either spelling is accepted on input (`populate_by_name`); output always uses the wire name.

Money is integer minor units (kopecks) everywhere; a float on the wire is rejected, even 20.0, so
that a rouble amount sent by mistake (001's examples show `"productPrice": 20.20`) never passes
as 20 kopecks.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

Money = Annotated[int, Field(ge=0, strict=True)]
"""Integer minor units (kopecks); JSON ints only: floats, strings and booleans are rejected."""

PositiveQty = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Version = Annotated[int, Field(ge=0)]
"""Optimistic-lock / feed version of an object; only grows."""

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

DEFAULT_CURRENCY = "RUB"
Currency = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z]{3}$")]
"""ISO 4217 alphabetic code; default `DEFAULT_CURRENCY` (RUB)."""

MAX_ORDER_ITEMS = 20
"""003: an order has no more than 20 positions."""


def _as_utc(value: datetime) -> datetime:
    """Naive timestamps are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


Timestamp = Annotated[datetime, AfterValidator(_as_utc)]
"""Always timezone-aware UTC after validation; serialized as ISO 8601 (`...Z`)."""


class UpperEnum(StrEnum):
    """A status whose values are UPPER_SNAKE_CASE, the name of each member. The lower-case
    spelling written before the casing was made one (`pending`, `handed_over`) reads as the same
    member, so a document a startup step has not rewritten yet, or a neighbour still sending the
    old spelling, does not break."""

    @classmethod
    def _missing_(cls, value: object) -> UpperEnum | None:
        return cls.__members__.get(value.upper()) if isinstance(value, str) else None


class WireModel(BaseModel):
    """A frozen, strictly shaped JSON message or body (unknown fields rejected)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
        frozen=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict with the wire (camelCase / seed) names; `None` fields left out."""
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)

    def to_bytes(self) -> bytes:
        """The UTF-8 JSON body of the Kafka message."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Self:
        """Validate a Kafka message body (raises `pydantic.ValidationError`)."""
        return cls.model_validate_json(data)

    @classmethod
    def type_name(cls) -> str:
        """The value of the envelope's `type` header for this message: the class name."""
        return cls.__name__


class NeighbourModel(WireModel):
    """A message produced by a neighbour system: unknown fields are ignored (forward compat)."""

    model_config = ConfigDict(extra="ignore")


class ErrorBody(WireModel):
    """The HTTP error body of 001: `{"errorMessage": "..."}`."""

    error_message: str = Field(alias="errorMessage")


# --- message-type registry ---------------------------------------------------------------------

M = TypeVar("M", bound=WireModel)

MESSAGE_TYPES: dict[str, type[WireModel]] = {}
"""Type name (class name, the envelope's `type` header) -> model of a top-level Kafka message."""

CONTEXT_MODULES = (
    "schemas.auth",
    "schemas.saga",
    "schemas.payment",
    "schemas.delivery",
    "schemas.billing",
    "schemas.notification",
    "schemas.catalog",
    "schemas.order",
    "schemas.fulfilment",
)


def message(cls: type[M]) -> type[M]:
    """Class decorator: register a top-level Kafka message under its class name."""
    name = cls.type_name()
    existing = MESSAGE_TYPES.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(f"message type {name!r} registered twice")
    MESSAGE_TYPES[name] = cls
    return cls


def load_all() -> dict[str, type[WireModel]]:
    """Import every bounded-context module so that `MESSAGE_TYPES` is complete."""
    for module in CONTEXT_MODULES:
        importlib.import_module(module)
    return MESSAGE_TYPES


def message_model(type_name: str) -> type[WireModel]:
    """The model of a message by its `type` header; `KeyError` for an unknown type."""
    return load_all()[type_name]
