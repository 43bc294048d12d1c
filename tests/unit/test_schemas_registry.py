"""The topic and message-type registries, order status spellings and shared wire conventions."""

from __future__ import annotations

import pytest

from schemas import topics
from schemas.base import MESSAGE_TYPES, ErrorBody, WireModel, message_model
from schemas.order import OrderStatus, OrderStatusUpdate
from schemas.registry import TOPIC_MODELS, model_for

TS = "2024-05-01T10:00:00Z"


def test_canceled_from_001_is_accepted_as_cancelled() -> None:
    assert OrderStatus("CANCELED") is OrderStatus.CANCELLED
    update = OrderStatusUpdate.model_validate(
        {"orderId": "o-1", "status": "CANCELED", "source": "delivery", "timestamp": TS}
    )
    assert update.status is OrderStatus.CANCELLED
    assert update.to_wire()["status"] == "CANCELLED"


def test_000_spellings_of_statuses_are_normalised() -> None:
    assert OrderStatus("awaiting payment") is OrderStatus.AWAITING_PAYMENT
    assert OrderStatus("payed") is OrderStatus.PAID


def test_timestamps_are_normalised_to_utc_and_naive_ones_read_as_utc() -> None:
    for stamp in ("2024-05-01T13:00:00+03:00", "2024-05-01T10:00:00"):
        update = OrderStatusUpdate.model_validate(
            {"orderId": "o-1", "status": "NEW", "source": "x", "timestamp": stamp}
        )
        assert update.to_wire()["timestamp"] == TS


def test_error_body_uses_the_001_field_name() -> None:
    assert ErrorBody(error_message="boom").to_wire() == {"errorMessage": "boom"}


def test_every_registry_topic_has_exactly_one_model() -> None:
    names = [t.name for t in topics.ALL]
    assert len(names) == len(set(names))
    assert set(TOPIC_MODELS) == set(names)
    for name in names:
        assert issubclass(TOPIC_MODELS[name], WireModel)
        assert model_for(name) is TOPIC_MODELS[name]
        assert model_for(topics.by_name(name).dlq) is TOPIC_MODELS[name]


def test_every_topic_model_resolves_by_its_type_header() -> None:
    for model in TOPIC_MODELS.values():
        assert MESSAGE_TYPES[model.type_name()] is model
        assert message_model(model.type_name()) is model


def test_an_unknown_type_header_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        message_model("NoSuchMessage")
