"""The picking case's rules, free of I/O: which moves it allows, which warehouse is the main one,
which units an item found damaged takes, and what the saga's REVERSE does to the stock in each
state of the case."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from schemas.catalog_http import PickingStatus as P
from schemas.saga import Disposition
from servicekit.errors import Conflict
from servicekit.mongo import Doc
from store_svc.domain import Allocation, Move

# staff moves: from -> the statuses it may go to
MOVES: dict[P, frozenset[P]] = {
    P.CREATED: frozenset({P.PICKING}),
    P.PICKING: frozenset({P.PICKED, P.DAMAGED}),
    P.PICKED: frozenset({P.HANDED_OVER, P.DAMAGED}),
}
LIVE = frozenset(MOVES)  # what the warehouse still has to do something with


class MoveRefused(Conflict):
    def __init__(self, current: P, wanted: P) -> None:
        self.current = current
        super().__init__(f"the picking case is {current}: it cannot become {wanted}")


def check_move(current: P, wanted: P) -> bool:
    """True when the case must move; False when it already is `wanted` (nothing to do);
    MoveRefused (409) when the case does not allow it."""
    if current is wanted:
        return False
    if wanted not in MOVES.get(current, frozenset()):
        raise MoveRefused(current, wanted)
    return True


def main_warehouse(items: Iterable[Allocation]) -> str:
    """The warehouse most of the order's units come from (ties: by id): the parcel leaves
    from there."""
    units: Counter[str] = Counter()
    for a in items:
        units[a.warehouse_id] += a.quantity
    return min(units, key=lambda w: (-units[w], w), default="")


def damaged_units(items: Iterable[Allocation], product_id: int, quantity: int) -> list[Allocation]:
    """The booked units of `product_id` that `quantity` damaged ones are: taken from the main
    warehouse's allocation first, then the others in order. ValueError when the order holds
    fewer units of it."""
    mine = [a for a in items if a.product_id == product_id]
    if sum(a.quantity for a in mine) < quantity:
        raise ValueError(f"the order has fewer than {quantity} unit(s) of product {product_id}")
    first = main_warehouse(mine)
    mine.sort(key=lambda a: a.warehouse_id != first)
    taken, left = [], quantity
    for a in mine:
        take = min(left, a.quantity)
        if take:
            taken.append(Allocation(product_id, a.warehouse_id, take))
            left -= take
    return taken


def without(items: Iterable[Allocation], taken: Iterable[Allocation]) -> list[Allocation]:
    """`items` less the units in `taken` (same product and warehouse)."""
    less: Counter[tuple[int, str]] = Counter()
    for t in taken:
        less[(t.product_id, t.warehouse_id)] += t.quantity
    rest = []
    for a in items:
        key = (a.product_id, a.warehouse_id)
        keep = a.quantity - min(a.quantity, less[key])
        less[key] -= a.quantity - keep
        if keep:
            rest.append(Allocation(a.product_id, a.warehouse_id, keep))
    return rest


def reverse_moves(
    status: P,
    disposition: Disposition | None,
    items: list[Allocation],
    damaged: list[Allocation],
) -> list[tuple[Allocation, Move]]:
    """What the saga's REVERSE does to a booked order's units, by its case's status:
    - handed over (the parcel was out): back on hand (RESTOCK) or written off (lost);
    - damaged: the damaged units are written off whatever the disposition (they cannot be
      sold), the rest back on hand;
    - otherwise (still in the warehouse): back on hand, or written off for WRITE_OFF."""
    write_off = disposition is Disposition.WRITE_OFF
    if status is P.HANDED_OVER:
        move = Move.WRITE_OFF_SHIPPED if write_off else Move.RETURN
        return [(a, move) for a in items]
    if status is P.DAMAGED:
        rest = without(items, damaged)
        return [(a, Move.WRITE_OFF_BOOKED) for a in damaged] + [(a, Move.UNBOOK) for a in rest]
    move = Move.WRITE_OFF_BOOKED if write_off else Move.UNBOOK
    return [(a, move) for a in items]


ENDED_FOR_GOOD = frozenset({P.HANDED_OVER, P.DAMAGED})


def cancelled_status(status: P) -> P:
    """What the case says after the REVERSE: cancelled while the warehouse still had the
    order; a case that had ended keeps how it ended (damaged: the reason; handed over: the
    warehouse's work was done, the parcel's fate is delivery's)."""
    return status if status in ENDED_FOR_GOOD else P.CANCELLED


def entry(status: P, at: datetime, by: str, **extra: object) -> Doc:
    """A history entry: who moved the case to `status`, when; `extra` without the Nones."""
    return {"status": status, "at": at, "by": by, **{k: v for k, v in extra.items() if v}}


def opened_case(
    order_id: str, items: list[Allocation], names: dict[str, str], now: datetime
) -> Doc:
    """A new case (the saga's CONFIRM booked the order): `names` are the product names the
    customer saw, by product id."""
    return {
        "_id": order_id,
        "status": P.CREATED,
        "items": [
            {"productId": a.product_id, "warehouseId": a.warehouse_id, "quantity": a.quantity}
            for a in items
        ],
        "names": names,
        "warehouseId": main_warehouse(items),
        "openedAt": now,
        "updatedAt": now,
        "history": [entry(P.CREATED, now, "saga")],
    }
