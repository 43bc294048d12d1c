"""The order aggregate's rules, without I/O."""

from __future__ import annotations

import pytest

from order_svc import domain
from order_svc.domain import Position
from servicekit.errors import Conflict

CART = [Position(1, 10, "Bike", 50_000, 1), Position(2, 20, "Bell", 900, 2)]


def test_adjust_sets_quantities_removes_zeroes_and_numbers_new_positions_after_the_last():
    result = domain.adjust(CART, {20: (5, "Bell", 900), 10: (0, "", 0), 30: (1, "Lamp", 1500)})
    assert [(p.id, p.product_id, p.quantity) for p in result] == [(2, 20, 5), (3, 30, 1)]


def test_positions_keep_the_price_they_were_added_with():
    result = domain.adjust(CART, {20: (3, "Bell", 1200)})
    assert result[1].price == 900


def test_an_order_cannot_grow_past_twenty_positions():
    many = {i: (1, f"p{i}", 100) for i in range(100, 121)}
    with pytest.raises(Conflict, match="at most 20 positions"):
        domain.adjust([], many)


def test_total_adds_positions_and_delivery():
    assert domain.total(CART, delivery_cost=35_000) == 50_000 + 1_800 + 35_000


def test_a_stale_version_is_a_conflict_and_none_means_do_not_check():
    domain.check_version(3, None)
    domain.check_version(3, 3)
    with pytest.raises(Conflict, match="version is 3"):
        domain.check_version(3, 2)
