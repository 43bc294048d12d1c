"""The wire models: seed examples round-trip with identical field names; registries are complete."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.base import load_all, message_model
from schemas.catalog import ProductFeedMessage
from schemas.saga import OrderConfirmationRequest, OrderItem, PickupChoice

TS = "2024-05-01T10:00:00Z"
ITEM = {"id": 1, "productId": 2, "productName": "велосипед_10", "productPrice": 2020, "quantity": 1}
PICKUP = {"type": "pickup", "pointId": 17}
COURIER = {
    "type": "courier",
    "address": "Москва, Тверская 1",
    "courierCompany": "cdek",
    "quoteId": "q-1",
    "cost": 30000,
}
PRODUCT = {
    "id": 10,
    "name": "велосипед_10",
    "measurments": {"weight": 12000, "height": 1000, "width": 600, "lenght": 1700},
    "description": "горный",
    "cost": 50000,
    "tax": 20,
    "version": 2,
}

SEED_EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    (
        "UserRegistered",
        {
            "username": "ivan",
            "firstName": "Иван",
            "lastName": "Петров",
            "email": "ivan@example.com",
            "phone": "+79001234567",
        },
    ),
    (
        "OrderConfirmationRequest",
        {
            "orderId": "o-1",
            "version": 3,
            "userName": "ivan",
            "orderItems": [ITEM],
            "total": 2020,
            "currency": "RUB",
            "delivery": PICKUP,
            "paymentId": "pay-1",
        },
    ),
    (
        "OrderConfirmationRequest",
        {
            "orderId": "o-1",
            "version": 0,
            "userName": "ivan",
            "orderItems": [ITEM],
            "total": 32020,
            "currency": "RUB",
            "delivery": COURIER,
        },
    ),
    (
        "ConfirmationRequest",
        {
            "orderId": "o-1",
            "requestType": "CONFIRM",
            "confirmator": "PAYMENT",
            "orderItems": [ITEM],
        },
    ),
    (
        "ConfirmationRequest",
        {
            "orderId": "o-1",
            "requestType": "REVERSE",
            "confirmator": "DELIVERY",
            "orderItems": [ITEM],
            "total": 2020,
            "username": "ivan",
            "delivery": COURIER,
            "paymentId": "pay-1",
        },
    ),
    (
        "ConfirmationReply",
        {
            "orderId": "o-1",
            "requestType": "CONFIRM",
            "confirmator": "PAYMENT",
            "response": "SUCCESS",
        },
    ),
    (
        "ConfirmationReply",
        {
            "orderId": "o-1",
            "requestType": "CONFIRM",
            "confirmator": "STORE",
            "response": "FAIL",
            "reason": "out of stock",
        },
    ),
    ("OrderOutcome", {"orderId": "o-1", "version": 4, "response": "SUCCESS"}),
    (
        "OrderCancellation",
        {
            "orderId": "o-1",
            "version": 6,
            "userName": "ivan",
            "orderItems": [
                {"id": 1, "productId": 7, "productName": "Чай", "productPrice": 2020, "quantity": 1}
            ],
            "total": 2020,
            "currency": "RUB",
            "reason": "cancelled by the customer",
            "by": "ivan",
            "kind": "CANCEL",
            "disposition": "RESTOCK",
        },
    ),
    ("HoldExtension", {"orderId": "o-1", "until": "2026-12-05T10:00:00Z"}),
    (
        "ParcelHandedOver",
        {
            "orderId": "o-1",
            "warehouseId": "msk-1",
            "items": [{"productId": 7, "warehouseId": "msk-1", "quantity": 1}],
            "timestamp": "2026-12-04T10:00:00Z",
        },
    ),
    (
        "AccountNotificationRequest",
        {
            "username": "ivan",
            "kind": "verification_code",
            "channel": "sms",
            "userPhone": "+79990001122",
            "secret": "123456",
            "expiresAt": "2026-11-24T10:00:00Z",
        },
    ),
    (
        "SagaNotification",
        {"orderId": "o-1", "username": "ivan", "response": "FAIL", "timestamp": TS},
    ),
    (
        "PaymentNotification",
        {
            "orderId": "o-1",
            "username": "ivan",
            "requestType": "CHARGE",
            "tokenType": "BANK_CARD",
            "maskedTokenId": "**** **** **** 4242",
            "response": "FAIL",
            "errorMsg": "insufficient funds",
            "timestamp": TS,
        },
    ),
    (
        "OrderPaymentEvent",
        {
            "orderId": "o-1",
            "paymentId": "pay-1",
            "amount": 2020,
            "currency": "RUB",
            "status": "SUCCEEDED",
            "timestamp": TS,
        },
    ),
    (
        "DeliveryNotification",
        {
            "orderId": "o-1",
            "username": "ivan",
            "pickupPointDelivery": {
                "pointId": 17,
                "address": "ул. Ленина 5",
                "availDate": "2024-05-03",
            },
            "timestamp": TS,
        },
    ),
    (
        "DeliveryNotification",
        {
            "orderId": "o-1",
            "username": "ivan",
            "homeDelivery": {
                "homeAddress": "Москва, Тверская 1",
                "deliveryDate": "2024-05-04",
                "timeSlot": {"beginTime": "10:00:00", "endTime": "14:00:00"},
            },
            "timestamp": TS,
        },
    ),
    (
        "GiftCardDelivery",
        {
            "giftCardNumber": "GC-0001-0002",
            "doneeFirstName": "Мария",
            "doneeLastName": "Иванова",
            "doneeEmail": "maria@example.com",
        },
    ),
    (
        "BillingRequest",
        {
            "requestId": "p-1",
            "op": "DEBIT",
            "accountKind": "WALLET",
            "accountId": "ivan",
            "username": "ivan",
            "amount": 150000,
            "currency": "RUB",
            "reason": "PAYMENT",
            "paymentId": "p-1",
            "orderId": "o-1",
            "timestamp": TS,
        },
    ),
    (
        "BillingReply",
        {
            "requestId": "p-1",
            "paymentId": "p-1",
            "op": "DEBIT",
            "accountKind": "WALLET",
            "accountId": "ivan",
            "response": "FAIL",
            "reason": "not enough money in the wallet",
            "balance": 1000,
            "timestamp": TS,
        },
    ),
    (
        "GiftCardIssueRequest",
        {
            "orderId": "o-2",
            "paymentId": "p-2",
            "buyer": "ivan",
            "amount": 300000,
            "currency": "RUB",
            "design": "birthday",
            "doneeName": "Мария",
            "doneeEmail": "maria@example.com",
            "timestamp": TS,
        },
    ),
    (
        "GiftCardIssued",
        {
            "orderId": "o-2",
            "paymentId": "p-2",
            "giftCardId": "g-1",
            "number": "GC-4821-0093-1177",
            "amount": 300000,
            "timestamp": TS,
        },
    ),
    (
        "OrderNotification",
        {
            "type": "sms",
            "userPhone": "+79001234567",
            "notificationType": "requires_payment",
            "orderNum": "o-1",
            "orderItems": [{"name": "велосипед_10", "cost": 50000, "additionalInfo": "синий"}],
            "deliveryType": "courier",
            "deliveryAddress": {"kladrId": 7700000000000, "fullAddress": "Москва, Тверская 1"},
        },
    ),
    (
        "RegistrationNotification",
        {
            "type": "email",
            "userEmail": "ivan@example.com",
            "promoId": "ebca4412-3965-45a8-bd36-4c1d1b768e7b",
        },
    ),
    (
        "ProductFeedMessage",
        PRODUCT,
    ),
    ("StockLevel", {"productId": 10, "warehouseId": "msk-1", "onHand": 5, "version": 7}),
    (
        "OrderStatusUpdate",
        {
            "orderId": "o-1",
            "status": "READY_FOR_PICKUP",
            "reason": "arrived",
            "source": "warehouse",
            "timestamp": TS,
        },
    ),
    ("ReportReady", {"reportId": "ebca4412-3965-45a8-bd36-4c1d1b768e7b", "result": "success"}),
    (
        "ReportReady",
        {
            "reportId": "r-2",
            "result": "fail",
            "detail": {"error": "io_error", "message": "disk full"},
        },
    ),
]


@pytest.mark.parametrize(("type_name", "example"), SEED_EXAMPLES)
def test_seed_example_round_trips_with_identical_field_names(
    type_name: str, example: dict[str, Any]
) -> None:
    model = message_model(type_name)
    assert model.model_validate(example).to_wire() == example
    parsed = model.from_bytes(json.dumps(example).encode())
    assert json.loads(parsed.to_bytes()) == example


def test_every_message_type_has_a_seed_example() -> None:
    assert {name for name, _ in SEED_EXAMPLES} == set(load_all())


def test_product_feed_keeps_the_seed_typos_on_the_wire() -> None:
    product = ProductFeedMessage.model_validate(PRODUCT)
    assert product.measurements.length == 1700
    wire = product.to_wire()
    assert "measurments" in wire and "measurements" not in wire
    assert set(wire["measurments"]) == {"weight", "height", "width", "lenght"}


def test_models_are_built_with_python_names_and_serialised_with_wire_names() -> None:
    request = OrderConfirmationRequest(
        order_id="o-1",
        version=0,
        username="ivan",
        order_items=[
            OrderItem(id=0, product_id=2, product_name="x", product_price=100, quantity=2)
        ],
        total=200,
        delivery=PickupChoice(point_id=1),
    )
    wire = request.to_wire()
    assert wire["userName"] == "ivan"
    assert wire["currency"] == "RUB"
    assert wire["delivery"] == {"type": "pickup", "pointId": 1}
    assert "paymentId" not in wire


def test_a_confirmation_request_says_username_and_still_reads_the_old_user_name() -> None:
    from schemas.saga import ConfirmationRequest

    old = {
        "orderId": "o-1",
        "requestType": "CONFIRM",
        "confirmator": "STORE",
        "orderItems": [ITEM],
        "userName": "ivan",
    }
    wire = ConfirmationRequest.model_validate(old).to_wire()
    assert wire["username"] == "ivan" and "userName" not in wire


def test_the_envelopes_occurred_at_header_is_iso_8601_in_utc_with_t_and_z() -> None:
    from datetime import datetime, timedelta, timezone

    from schemas.envelope import Envelope
    from tests.support.conventions import TIMESTAMP

    moscow = datetime(2026, 12, 4, 17, 43, 27, 488000, tzinfo=timezone(timedelta(hours=3)))
    header = Envelope(type="X", occurred_at=moscow).to_headers()["occurred_at"]
    assert header == "2026-12-04T14:43:27.488000Z" and TIMESTAMP.match(header)
    assert Envelope.from_headers({"type": "X", "occurred_at": header}).occurred_at == moscow
