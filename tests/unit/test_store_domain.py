"""store_svc's pure rules: prices, search words, stock movements, the warehouse picking rule
and what each saga / edge request does in each state of an order's reservation."""

from __future__ import annotations

import itertools

import pytest

from schemas.catalog_http import ReservationStatus as R
from store_svc import domain
from store_svc.domain import Allocation, Move, OutOfStock, Plan


def test_the_shelf_price_is_the_feed_cost_plus_its_tax() -> None:
    assert domain.shelf_price(cost=100_000, tax=20_000) == 120_000


@pytest.mark.parametrize(
    ("price", "percent", "after"),
    [(1000, 0, 1000), (1000, 15, 850), (999, 10, 899), (1005, 10, 904), (1, 50, 0), (3, 50, 1)],
)
def test_a_discount_is_rounded_half_up_to_a_kopeck(price: int, percent: int, after: int) -> None:
    assert domain.discounted(price, percent) == after


def test_search_words_are_case_folded_distinct_and_read_yo_as_ie() -> None:
    words = domain.tokens("Синий ЧАЙНИК, 1.7 л", "Чайник ЁМКИЙ; steel Kettle")
    assert words == ["синий", "чайник", "1", "7", "л", "емкий", "steel", "kettle"]


def test_a_query_keeps_its_first_eight_words() -> None:
    assert domain.query_words("a b c d e f g h i j") == list("abcdefgh")
    assert domain.query_words("  ,. ") == [] and domain.query_words(None) == []


@pytest.mark.parametrize("word", ["чай", "kettle", "a", "я", "z9"])
def test_a_prefix_range_holds_exactly_the_words_that_start_with_the_prefix(word: str) -> None:
    low, high = domain.prefix_range(word)
    candidates = ["чай", "чайник", "чак", "ча", "kettle", "kettles", "kettld", "a", "ab", "b"]
    candidates += ["я", "яблоко", "ю", "z9", "z90", "z:", "z8"]
    inside = {c for c in candidates if low <= c < high}
    assert inside == {c for c in candidates if c.startswith(word)}
    # the database orders strings by their UTF-8 bytes; the range must mean the same there
    assert {c for c in candidates if low.encode() <= c.encode() < high.encode()} == inside


def test_one_warehouse_serves_the_whole_quantity_when_one_can() -> None:
    picked = domain.pick_warehouses(7, 4, {"msk": 3, "spb": 10, "ekb": 5})
    assert picked == [Allocation(7, "spb", 4)]


def test_otherwise_the_quantity_is_split_most_available_first_over_the_fewest() -> None:
    picked = domain.pick_warehouses(7, 9, {"msk": 3, "spb": 4, "ekb": 5, "kzn": 0})
    assert picked == [Allocation(7, "ekb", 5), Allocation(7, "spb", 4)]


def test_equal_availability_is_taken_in_warehouse_id_order() -> None:
    assert domain.pick_warehouses(7, 2, {"spb": 2, "msk": 2}) == [Allocation(7, "msk", 2)]


def test_allocation_is_all_or_nothing_and_names_every_short_product() -> None:
    levels = {1: {"msk": 5}, 2: {"msk": 1, "spb": 1}}
    with pytest.raises(OutOfStock) as caught:
        domain.allocate({1: 2, 2: 3, 3: 1}, levels)
    assert caught.value.shortages == [(2, 3, 2), (3, 1, 0)]
    assert "product 2 (requested 3, available 2)" in caught.value.message
    assert caught.value.status == 409
    assert domain.allocate({1: 5, 2: 2}, levels) == [
        Allocation(1, "msk", 5),
        Allocation(2, "msk", 1),
        Allocation(2, "spb", 1),
    ]


def test_positions_of_one_product_are_merged() -> None:
    assert domain.merge_items([(5, 1), (2, 2), (5, 3)]) == {2: 2, 5: 4}


# units that left the warehouse (shipped) and the stock (written off)
LEFT = {"shipped": 5, "writtenOff": 1}


def received(line: dict[str, int]) -> int:
    """store_svc's conservation equation: every unit received is in exactly one place."""
    return line["onHand"] + line["booked"] + line["shipped"] + line["writtenOff"]


def _apply(line: dict[str, int], move: Move, quantity: int) -> dict[str, int]:
    out = dict(line)
    for name, delta in domain.increments(move, quantity).items():
        out[name] += delta
    return out


@pytest.mark.parametrize("move", list(Move))
def test_every_stock_move_keeps_available_at_on_hand_minus_reserved(move: Move) -> None:
    line = {"onHand": 10, "reserved": 4, "booked": 3, "available": 6, **LEFT}
    after = _apply(line, move, 2)
    assert after["available"] == after["onHand"] - after["reserved"]


@pytest.mark.parametrize("move", list(Move))
def test_no_stock_move_creates_or_loses_units(move: Move) -> None:
    line = {"onHand": 10, "reserved": 4, "booked": 3, "available": 6, **LEFT}
    after = _apply(line, move, 2)
    assert received(after) == received(line)


@pytest.mark.parametrize("move", list(Move))
def test_a_move_its_guard_allows_never_takes_any_count_below_zero(move: Move) -> None:
    allowed = 0
    for on_hand, reserved, booked, quantity in itertools.product(range(5), repeat=4):
        line = {
            "onHand": on_hand,
            "reserved": reserved,
            "booked": booked,
            "available": on_hand - reserved,
            "shipped": booked,
            "writtenOff": 0,
        }
        if reserved > on_hand or quantity == 0 or line[domain.guard(move)] < quantity:
            continue
        allowed += 1
        assert min(_apply(line, move, quantity).values()) >= 0, (line, quantity)
    assert allowed > 20


def test_reserve_and_sell_are_refused_by_available_units_so_nothing_is_oversold() -> None:
    assert domain.guard(Move.RESERVE) == domain.guard(Move.SELL) == "available"


def test_a_feed_count_below_the_reserved_units_is_clamped_to_them() -> None:
    assert domain.counted_on_hand(reported=3, reserved=5) == 5
    assert domain.counted_on_hand(reported=8, reserved=5) == 8
    assert "5 unit(s) are reserved" in domain.OnHandBelowReserved(3, 5).message


@pytest.mark.parametrize(
    ("status", "same", "plan"),
    [
        (None, True, Plan.CREATE),
        (R.RELEASED, False, Plan.CREATE),
        (R.EXPIRED, True, Plan.CREATE),
        (R.RESERVED, True, Plan.KEEP),
        (R.RESERVED, False, Plan.REPLACE),
        (R.BOOKED, False, Plan.KEEP),
        (R.REVERSED, True, Plan.REFUSE),
        (R.FAILED, True, Plan.REFUSE),
    ],
)
def test_a_reservation_request_repeated_for_an_order_answers_what_it_holds(
    status: R | None, same: bool, plan: Plan
) -> None:
    assert domain.on_reserve(status, same) is plan


@pytest.mark.parametrize(
    ("status", "plan"),
    [
        (R.RESERVED, Plan.BOOK),
        (R.BOOKED, Plan.KEEP),
        (R.REVERSED, Plan.REFUSE),
        (None, Plan.SELL),
        (R.EXPIRED, Plan.SELL),
        (R.RELEASED, Plan.SELL),
        (R.FAILED, Plan.SELL),
    ],
)
def test_confirm_books_a_pre_reservation_once_and_is_refused_after_a_reverse(
    status: R | None, plan: Plan
) -> None:
    assert domain.on_confirm(status) is plan


@pytest.mark.parametrize(
    ("status", "plan"),
    [
        (R.RESERVED, Plan.RELEASE),
        (R.BOOKED, Plan.UNBOOK),
        (R.REVERSED, Plan.KEEP),
        (None, Plan.MARK),
        (R.EXPIRED, Plan.MARK),
        (R.FAILED, Plan.MARK),
    ],
)
def test_reverse_gives_back_what_is_held_and_marks_the_order_reversed(
    status: R | None, plan: Plan
) -> None:
    assert domain.on_reverse(status) is plan


def test_only_a_pre_reservation_is_released_on_request_and_a_booking_is_refused() -> None:
    assert domain.on_release(R.RESERVED) is Plan.RELEASE
    assert domain.on_release(R.BOOKED) is Plan.REFUSE
    assert domain.on_release(R.EXPIRED) is Plan.KEEP
