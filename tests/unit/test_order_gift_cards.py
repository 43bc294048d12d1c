"""Gift-card orders' rules, without I/O: their own status machine, their one position and the
order document the edge creates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from order_svc import domain, guards
from order_svc.domain import OrderKind
from order_svc.gift_cards import gift_card_order
from order_svc.guards import Actor
from order_svc.views import view
from schemas.billing import GIFT_CARD_MAX, GIFT_CARD_MIN, GiftCardDesign
from schemas.order import OrderStatus as S
from schemas.order_http import GiftCardOrderRequest
from servicekit.errors import Conflict
from servicekit.identity import Caller

GIFT = OrderKind.GIFT_CARD
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
BUYER = Caller(username="anna", email="anna@example.com")


def request(**overrides: object) -> GiftCardOrderRequest:
    body = {"doneeName": "Ivan", "doneeEmail": "ivan@example.com", "amount": 300_000, **overrides}
    return GiftCardOrderRequest.model_validate(body)


def test_a_paid_gift_card_order_is_completed_by_billing_but_an_order_of_goods_is_not():
    guards.check(Actor.BILLING, S.PAID, S.COMPLETED, GIFT)
    with pytest.raises(guards.ForbiddenMove, match="current status PAID"):
        guards.check(Actor.BILLING, S.PAID, S.COMPLETED)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (S.PAID, S.IN_PROGRESS),
        (S.AWAITING_PAYMENT, S.COMPLETED),
        (S.COMPLETED, S.CANCELLED),
        (S.CANCELLED, S.PAID),
        (S.NEW, S.AWAITING_PAYMENT),
    ],
)
def test_a_gift_card_order_never_enters_the_saga_nor_leaves_a_final_state(current: S, wanted: S):
    for actor in Actor:
        assert not guards.allows(actor, current, wanted, GIFT)
    with pytest.raises(guards.ForbiddenMove, match=f"current status {current}"):
        guards.check(Actor.ADMIN, current, wanted, GIFT)


def test_a_gift_card_order_can_be_cancelled_until_it_is_paid():
    assert guards.allows(Actor.CUSTOMER, S.AWAITING_PAYMENT, S.CANCELLED, GIFT)
    assert not guards.allows(Actor.CUSTOMER, S.PAID, S.CANCELLED, GIFT)
    assert not guards.allows(Actor.ADMIN, S.PAID, S.CANCELLED, GIFT)
    assert not guards.through_orchestra(S.PAID, GIFT)


@pytest.mark.parametrize("action", ["adjusted", "checked out", "processed"])
def test_cart_and_saga_operations_refuse_a_gift_card_order_and_accept_goods(action: str):
    with pytest.raises(Conflict, match=f"a gift-card order cannot be {action}"):
        domain.check_goods(GIFT, action)
    domain.check_goods(OrderKind.GOODS, action)


def test_an_order_without_a_kind_is_an_order_of_goods():
    assert domain.kind_of({"status": "NEW"}) is OrderKind.GOODS
    assert domain.kind_of({"kind": "GIFT_CARD"}) is GIFT


def test_the_gift_card_position_is_one_card_priced_at_its_value_named_after_its_design():
    position = domain.gift_card_position(250_000, GiftCardDesign.FLOWERS)
    assert (position.product_id, position.quantity, position.price) == (0, 1, 250_000)
    assert position.name == "Подарочная карта «Цветы»"
    assert domain.total([position]) == 250_000


def test_a_gift_card_order_awaits_payment_at_once_for_its_amount_and_is_not_the_cart():
    doc = gift_card_order(BUYER, request(design="birthday"), NOW, pay_for=600)
    assert "cartOf" not in doc
    assert doc["expiresAt"] == NOW + timedelta(seconds=600)
    order = view(doc)
    assert (order.kind, order.status, order.total, order.username) == (
        "GIFT_CARD",
        S.AWAITING_PAYMENT,
        300_000,
        "anna",
    )
    assert [h.status for h in order.history] == [S.AWAITING_PAYMENT]
    assert order.gift_card is not None
    assert (order.gift_card.donee_email, order.gift_card.design) == (
        "ivan@example.com",
        GiftCardDesign.BIRTHDAY,
    )
    assert order.gift_card.gift_card_number is None


def test_each_gift_card_order_is_an_order_of_its_own():
    first = gift_card_order(BUYER, request(), NOW, pay_for=600)
    second = gift_card_order(BUYER, request(), NOW, pay_for=600)
    assert first["_id"] != second["_id"]


@pytest.mark.parametrize(
    "bad",
    [
        {"amount": GIFT_CARD_MIN - 1},
        {"amount": GIFT_CARD_MAX + 1},
        {"amount": 300_000.0},
        {"doneeEmail": "not-an-address"},
        {"design": "skulls"},
        {"doneeName": ""},
    ],
)
def test_a_gift_card_request_out_of_bounds_is_refused(bad: dict[str, object]):
    body = {"doneeName": "Ivan", "doneeEmail": "ivan@example.com", "amount": 300_000, **bad}
    with pytest.raises(ValidationError):  # as the edge reads it: JSON, where 1.0 is a float
        GiftCardOrderRequest.model_validate_json(json.dumps(body))
