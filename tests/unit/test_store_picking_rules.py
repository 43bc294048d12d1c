"""store_svc's picking rules, pure: the moves a case allows, the main warehouse, which units a
damaged item takes, and where REVERSE sends a booked order's units in each state of its case."""

from __future__ import annotations

import pytest

from schemas.catalog_http import PickingStatus as P
from schemas.saga import Disposition
from store_svc import domain, picking_rules
from store_svc.domain import Allocation as A
from store_svc.domain import Move
from store_svc.picking_rules import MoveRefused

ITEMS = [A(1, "ekb", 2), A(1, "msk", 3), A(2, "spb", 1)]


def test_a_case_moves_one_step_at_a_time_and_the_same_status_again_is_no_move() -> None:
    assert picking_rules.check_move(P.CREATED, P.PICKING)
    assert picking_rules.check_move(P.PICKING, P.DAMAGED)
    assert picking_rules.check_move(P.PICKED, P.HANDED_OVER)
    assert not picking_rules.check_move(P.PICKED, P.PICKED)
    for current, wanted in [
        (P.CREATED, P.PICKED),
        (P.CREATED, P.DAMAGED),
        (P.HANDED_OVER, P.DAMAGED),
        (P.CANCELLED, P.PICKING),
        (P.DAMAGED, P.PICKED),
    ]:
        with pytest.raises(MoveRefused, match=f"is {current}"):
            picking_rules.check_move(current, wanted)


def test_the_main_warehouse_sends_the_most_units_ties_by_id() -> None:
    assert picking_rules.main_warehouse(ITEMS) == "msk"
    assert picking_rules.main_warehouse([A(1, "spb", 2), A(2, "kzn", 2)]) == "kzn"


def test_damaged_units_come_from_the_main_warehouse_first() -> None:
    assert picking_rules.damaged_units(ITEMS, 1, 4) == [A(1, "msk", 3), A(1, "ekb", 1)]
    assert picking_rules.without(ITEMS, [A(1, "msk", 3), A(1, "ekb", 1)]) == [
        A(1, "ekb", 1),
        A(2, "spb", 1),
    ]
    with pytest.raises(ValueError):
        picking_rules.damaged_units(ITEMS, 2, 2)


@pytest.mark.parametrize("status", list(P))
@pytest.mark.parametrize("disposition", [None, *Disposition])
def test_reverse_moves_every_booked_unit_exactly_once(
    status: P, disposition: Disposition | None
) -> None:
    damaged = [A(1, "msk", 1)] if status is P.DAMAGED else []
    moves = picking_rules.reverse_moves(status, disposition, ITEMS, damaged)
    moved: dict[tuple[int, str], int] = {}
    for a, move in moves:
        moved[(a.product_id, a.warehouse_id)] = moved.get((a.product_id, a.warehouse_id), 0) + (
            a.quantity
        )
        # a handed-over parcel's units are shipped, the others still booked
        shipped = status is P.HANDED_OVER
        assert domain.guard(move) == ("shipped" if shipped else "booked"), move
    assert moved == {(a.product_id, a.warehouse_id): a.quantity for a in ITEMS}


def test_a_damaged_case_writes_off_only_the_damaged_units_and_restocks_the_rest() -> None:
    moves = picking_rules.reverse_moves(P.DAMAGED, Disposition.WRITE_OFF, ITEMS, [A(1, "msk", 1)])
    assert sorted(moves, key=str) == sorted(
        [
            (A(1, "msk", 1), Move.WRITE_OFF_BOOKED),
            (A(1, "ekb", 2), Move.UNBOOK),
            (A(1, "msk", 2), Move.UNBOOK),
            (A(2, "spb", 1), Move.UNBOOK),
        ],
        key=str,
    )
    assert picking_rules.cancelled_status(P.DAMAGED) is P.DAMAGED
    assert picking_rules.cancelled_status(P.HANDED_OVER) is P.HANDED_OVER
    assert picking_rules.cancelled_status(P.PICKED) is P.CANCELLED
