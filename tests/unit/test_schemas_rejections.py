"""What the wire models refuse: every case raises `pydantic.ValidationError`."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.catalog import ProductFeedMessage, StockLevel
from schemas.delivery import DeliveryNotification, TimeSlot
from schemas.notification import OrderNotification, RegistrationNotification
from schemas.order import OrderStatusUpdate, ReportReady
from schemas.saga import ConfirmationReply, ConfirmationRequest, OrderConfirmationRequest

TS = "2024-05-01T10:00:00Z"


def _item(n: int = 1, **over: Any) -> dict[str, Any]:
    item = {"id": n, "productId": 2, "productName": "p", "productPrice": 100, "quantity": 1}
    return {**item, **over}


def _request(**over: Any) -> dict[str, Any]:
    base = {"orderId": "o-1", "version": 1, "userName": "ivan", "orderItems": [_item()]}
    return {**base, "total": 100, **over}


def _product(**over: Any) -> dict[str, Any]:
    measures = {"weight": 1, "height": 1, "width": 1, "lenght": 1}
    base = {"id": 1, "name": "n", "measurments": measures, "cost": 100, "tax": 0, "version": 0}
    return {**base, **over}


def test_an_unknown_enum_value_is_rejected() -> None:
    reply = {"orderId": "o-1", "requestType": "CANCEL", "confirmator": "STORE", "response": "FAIL"}
    with pytest.raises(ValidationError):
        ConfirmationReply.model_validate(reply)
    with pytest.raises(ValidationError):
        OrderStatusUpdate.model_validate(
            {"orderId": "o", "status": "LOST", "source": "x", "timestamp": TS}
        )


@pytest.mark.parametrize(
    "bad",
    [
        _request(total=-1),
        _request(orderItems=[_item(productPrice=-1)]),
        _request(
            delivery={
                "type": "courier",
                "address": "a",
                "courierCompany": "c",
                "quoteId": "q",
                "cost": -5,
            }
        ),
    ],
)
def test_negative_money_is_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OrderConfirmationRequest.model_validate(bad)


@pytest.mark.parametrize("cost", [20.2, 20.0, "2020", True])
def test_money_must_be_a_json_integer_of_kopecks(cost: Any) -> None:
    with pytest.raises(ValidationError):
        ProductFeedMessage.model_validate(_product(cost=cost))
    with pytest.raises(ValidationError):
        OrderConfirmationRequest.model_validate(_request(orderItems=[_item(productPrice=cost)]))


def test_an_order_with_no_items_is_rejected() -> None:
    with pytest.raises(ValidationError):
        OrderConfirmationRequest.model_validate(_request(orderItems=[]))
    with pytest.raises(ValidationError):
        ConfirmationRequest.model_validate(
            {"orderId": "o", "requestType": "REVERSE", "confirmator": "STORE", "orderItems": []}
        )


def test_an_order_with_21_items_is_rejected_and_20_accepted() -> None:
    twenty = [_item(n) for n in range(20)]
    assert (
        len(OrderConfirmationRequest.model_validate(_request(orderItems=twenty)).order_items) == 20
    )
    with pytest.raises(ValidationError):
        OrderConfirmationRequest.model_validate(_request(orderItems=[*twenty, _item(20)]))


def test_a_zero_quantity_is_rejected() -> None:
    with pytest.raises(ValidationError):
        OrderConfirmationRequest.model_validate(_request(orderItems=[_item(quantity=0)]))


def test_an_unknown_delivery_choice_type_is_rejected() -> None:
    with pytest.raises(ValidationError):
        OrderConfirmationRequest.model_validate(
            _request(delivery={"type": "drone", "pointId": "1"})
        )


def test_our_own_messages_reject_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        OrderConfirmationRequest.model_validate(_request(surprise=1))


def test_neighbour_feeds_ignore_unknown_fields() -> None:
    product = ProductFeedMessage.model_validate(_product(brand="acme"))
    assert "brand" not in product.to_wire()
    stock = {"productId": 1, "warehouseId": "w", "onHand": 0, "version": 0, "zone": "A"}
    assert StockLevel.model_validate(stock).on_hand == 0


def test_messages_are_frozen() -> None:
    request = OrderConfirmationRequest.model_validate(_request())
    with pytest.raises(ValidationError):
        request.total = 5  # type: ignore[misc]


def _notification(**over: Any) -> dict[str, Any]:
    base = {
        "type": "sms",
        "userPhone": "+79001234567",
        "notificationType": "completed",
        "orderNum": "o-1",
        "orderItems": [{"name": "n", "cost": 1}],
        "deliveryType": "selfdelivery",
    }
    return {k: v for k, v in {**base, **over}.items() if v is not None}


def test_an_sms_without_a_phone_is_rejected() -> None:
    with pytest.raises(ValidationError):
        OrderNotification.model_validate(_notification(userPhone=None, userEmail="a@example.com"))
    promo = str(uuid.uuid4())
    with pytest.raises(ValidationError):
        RegistrationNotification.model_validate({"type": "sms", "promoId": promo})


def test_an_email_without_an_address_is_rejected() -> None:
    with pytest.raises(ValidationError):
        OrderNotification.model_validate(_notification(type="email"))
    with pytest.raises(ValidationError):
        OrderNotification.model_validate(_notification(type="email", userEmail="not-an-email"))


def test_a_promo_id_must_be_a_uuid4() -> None:
    for promo in (str(uuid.uuid1()), str(uuid.uuid5(uuid.NAMESPACE_DNS, "x")), "promo"):
        with pytest.raises(ValidationError):
            RegistrationNotification.model_validate(
                {"type": "sms", "userPhone": "+7900", "promoId": promo}
            )


def test_a_failed_report_needs_a_detail() -> None:
    with pytest.raises(ValidationError):
        ReportReady.model_validate({"reportId": "r-1", "result": "fail"})
    with pytest.raises(ValidationError):
        ReportReady.model_validate({"reportId": "r-1", "result": "partial"})


@pytest.mark.parametrize(
    "ways",
    [
        {},
        {
            "pickupPointDelivery": {"pointId": 1, "address": "a", "availDate": "2024-05-03"},
            "homeDelivery": {
                "homeAddress": "h",
                "deliveryDate": "2024-05-03",
                "timeSlot": {"beginTime": "10:00", "endTime": "12:00"},
            },
        },
    ],
)
def test_a_delivery_notice_names_exactly_one_way_of_delivery(ways: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DeliveryNotification.model_validate(
            {"orderId": "o", "username": "u", "timestamp": TS, **ways}
        )


def test_a_time_slot_must_end_after_it_begins() -> None:
    with pytest.raises(ValidationError):
        TimeSlot.model_validate({"beginTime": "14:00", "endTime": "10:00"})


def test_a_confirmation_reply_accepts_the_001_typo_respone_but_writes_response() -> None:
    reply = ConfirmationReply.model_validate(
        {"orderId": "o", "requestType": "CONFIRM", "confirmator": "STORE", "respone": "SUCCESS"}
    )
    assert reply.to_wire()["response"] == "SUCCESS"
    assert "respone" not in reply.to_wire()
