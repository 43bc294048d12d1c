"""store_svc's rules, free of I/O: prices, search words, stock movements, the warehouse picking
rule and what CONFIRM / REVERSE / a reservation request do in each state of an order."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from schemas.catalog_http import ReservationStatus as R
from servicekit.errors import Conflict

# the shop's warehouses out of the box (the seed stocks them; settings may name others)
WAREHOUSES = ("msk-1", "spb-1", "ekb-1", "nsk-1", "kzn-1", "nnv-1", "krd-1", "sam-1")

# --- prices ---------------------------------------------------------------------------------


def shelf_price(cost: int, tax: int) -> int:
    """003's feed gives `cost` (net, kopecks) and `tax` (the tax amount on it, kopecks); the
    customer pays both, as Russian shelf prices include VAT."""
    return cost + tax


def discounted(price: int, percent: int) -> int:
    """The price after a `percent` discount; the discount is rounded half up to a kopeck."""
    return price - (price * percent + 50) // 100


# --- search ---------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
MAX_TOKENS = 300
MAX_TOKEN_LENGTH = 40
MAX_QUERY_WORDS = 8


def normalize(text: str) -> str:
    """Case-folded, with Cyrillic yo read as ie (Russian writes both for the same letter)."""
    return text.casefold().replace("\u0451", "\u0435")


def tokens(*texts: str | None) -> list[str]:
    """The distinct words of `texts`, normalized, in order of first appearance."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(normalize(text or "")):
            seen.setdefault(word[:MAX_TOKEN_LENGTH], None)
            if len(seen) >= MAX_TOKENS:
                return list(seen)
    return list(seen)


def query_words(q: str | None) -> list[str]:
    """The words of a search query; each must be the start of a word of the product."""
    return tokens(q)[:MAX_QUERY_WORDS]


def prefix_range(word: str) -> tuple[str, str]:
    """`[low, high)` holding exactly the strings that start with `word` (code point order, which
    is the order of UTF-8 bytes that the database's index keeps)."""
    after = ord(word[-1]) + 1
    if 0xD800 <= after <= 0xDFFF:  # surrogates are not characters
        after = 0xE000
    return word, word[:-1] + chr(after)


# --- stock movements ------------------------------------------------------------------------


class Move(StrEnum):
    """What happens to a stock line; `available` is kept equal to `onHand - reserved`, and
    `onHand + booked + shipped + writtenOff` (the units received) never changes except by a
    new count."""

    RESERVE = "reserve"  # pre-reservation
    RELEASE = "release"  # a pre-reservation ends unused
    BOOK = "book"  # a pre-reservation is confirmed: the units leave on-hand for picking
    SELL = "sell"  # reserve and book at once (CONFIRM without a live pre-reservation)
    UNBOOK = "unbook"  # a booking is reversed: the units are back on hand
    SHIP = "ship"  # picking handed the parcel over to delivery
    RETURN = "return"  # a shipped parcel came back: its units are on hand again
    WRITE_OFF_BOOKED = "write off booked"  # damaged in the warehouse
    WRITE_OFF_SHIPPED = "write off shipped"  # lost or damaged after it left


_DELTAS: dict[Move, dict[str, int]] = {
    Move.RESERVE: {"available": -1, "reserved": 1},
    Move.RELEASE: {"available": 1, "reserved": -1},
    Move.BOOK: {"reserved": -1, "onHand": -1, "booked": 1},
    Move.SELL: {"available": -1, "onHand": -1, "booked": 1},
    Move.UNBOOK: {"booked": -1, "onHand": 1, "available": 1},
    Move.SHIP: {"booked": -1, "shipped": 1},
    Move.RETURN: {"shipped": -1, "onHand": 1, "available": 1},
    Move.WRITE_OFF_BOOKED: {"booked": -1, "writtenOff": 1},
    Move.WRITE_OFF_SHIPPED: {"shipped": -1, "writtenOff": 1},
}
_GUARDS = {
    Move.RESERVE: "available",
    Move.RELEASE: "reserved",
    Move.BOOK: "reserved",
    Move.SELL: "available",
    Move.UNBOOK: "booked",
    Move.SHIP: "booked",
    Move.RETURN: "shipped",
    Move.WRITE_OFF_BOOKED: "booked",
    Move.WRITE_OFF_SHIPPED: "shipped",
}


def increments(move: Move, quantity: int) -> dict[str, int]:
    return {name: sign * quantity for name, sign in _DELTAS[move].items()}


def guard(move: Move) -> str:
    """The field that must hold at least the quantity for `move` to be allowed (so no count
    ever goes below zero: this is the never-oversell check)."""
    return _GUARDS[move]


class OnHandBelowReserved(Conflict):
    def __init__(self, on_hand: int, reserved: int) -> None:
        super().__init__(
            f"{reserved} unit(s) are reserved here: on-hand cannot go below that "
            f"(asked {on_hand}); release the reservations first"
        )


def counted_on_hand(reported: int, reserved: int) -> int:
    """The on-hand a warehouse count sets. The admin is refused below the reserved units
    (OnHandBelowReserved, 409); a feed count below them cannot be refused, so it is clamped:
    reservations already given are honoured, and the new units simply are not available."""
    return max(reported, reserved)


# --- the picking rule -----------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    product_id: int
    warehouse_id: str
    quantity: int


class OutOfStock(Conflict):
    def __init__(self, shortages: list[tuple[int, int, int]]) -> None:
        self.shortages = shortages
        parts = [f"product {p} (requested {q}, available {a})" for p, q, a in shortages]
        super().__init__("Not enough stock: " + ", ".join(parts))


def merge_items(items: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Quantities per product (a product listed twice counts once), by product id."""
    merged: dict[int, int] = {}
    for product_id, quantity in items:
        merged[product_id] = merged.get(product_id, 0) + quantity
    return dict(sorted(merged.items()))


def pick_warehouses(product_id: int, quantity: int, levels: Mapping[str, int]) -> list[Allocation]:
    """Warehouses by available units, most first (ties: by id); take from each in turn. So one
    warehouse serves the whole quantity whenever one can, and otherwise the fewest do."""
    ordered = sorted(levels.items(), key=lambda kv: (-kv[1], kv[0]))
    left, picked = quantity, []
    for warehouse, available in ordered:
        if left == 0:
            break
        take = min(left, max(available, 0))
        if take:
            picked.append(Allocation(product_id, warehouse, take))
            left -= take
    return picked


def allocate(
    wanted: Mapping[int, int], levels: Mapping[int, Mapping[str, int]]
) -> list[Allocation]:
    """Every position or none: OutOfStock names each product that is short."""
    picked: list[Allocation] = []
    short: list[tuple[int, int, int]] = []
    for product_id, quantity in wanted.items():
        here = levels.get(product_id, {})
        total = sum(max(v, 0) for v in here.values())
        if total < quantity:
            short.append((product_id, quantity, total))
        else:
            picked += pick_warehouses(product_id, quantity, here)
    if short:
        raise OutOfStock(short)
    return picked


# --- what a request does in each state of the order's reservation ----------------------------


class Plan(StrEnum):
    CREATE = "create"  # reserve anew
    REPLACE = "replace"  # release what is held, reserve the new positions
    KEEP = "keep"  # nothing to change: answer what is there
    REFUSE = "refuse"
    BOOK = "book"  # the live pre-reservation becomes a booking
    SELL = "sell"  # no pre-reservation: reserve and book now
    RELEASE = "release"  # give the pre-reserved units back
    UNBOOK = "unbook"  # give the booked units back
    MARK = "mark"  # only record the new status (nothing is held)


LIVE = frozenset({R.RESERVED})
SPENT = frozenset({R.RELEASED, R.EXPIRED})


def on_reserve(status: R | None, same_items: bool) -> Plan:
    """`POST /reservations` again for the same order returns what it got the first time."""
    if status is None or status in SPENT:
        return Plan.CREATE
    if status is R.RESERVED:
        return Plan.KEEP if same_items else Plan.REPLACE
    if status is R.BOOKED:
        return Plan.KEEP
    return Plan.REFUSE  # FAILED, REVERSED: the saga is over for this order


def on_release(status: R | None) -> Plan:
    """`DELETE /reservations/{orderId}` by its owner."""
    if status is R.RESERVED:
        return Plan.RELEASE
    if status is R.BOOKED:
        return Plan.REFUSE  # a booked order is undone by the saga's REVERSE, not by a release
    return Plan.KEEP


def on_confirm(status: R | None) -> Plan:
    """The saga's CONFIRM. A reservation past `expiresAt` that the sweeper has not released yet
    still holds its units, so it is booked."""
    if status is R.RESERVED:
        return Plan.BOOK
    if status is R.BOOKED:
        return Plan.KEEP
    if status is R.REVERSED:
        return Plan.REFUSE
    return Plan.SELL  # none, released, expired, or a CONFIRM that failed before


def on_reverse(status: R | None) -> Plan:
    """The saga's REVERSE is always safe; for an unknown order it leaves a tombstone so that
    a CONFIRM arriving later is refused."""
    if status is R.RESERVED:
        return Plan.RELEASE
    if status is R.BOOKED:
        return Plan.UNBOOK
    if status is R.REVERSED:
        return Plan.KEEP
    return Plan.MARK
