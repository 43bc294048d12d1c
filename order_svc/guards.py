"""Who may move an order from what to what (SPEC §5), in one place.

Every status change asks the guards with the actor behind it; a move they do not list is
refused with the order's current status, and nothing changes. A cancellation (or return) of an
order handed over to orchestra does not move the status at once: orchestra compensates and its
outcome moves it (see `book.OrderBook.cancel`)."""

from __future__ import annotations

from enum import StrEnum

from order_svc.domain import OrderKind
from schemas.order import OrderStatus as S
from servicekit.errors import Conflict


class Actor(StrEnum):
    CUSTOMER = "CUSTOMER"
    ADMIN = "ADMIN"
    SAGA = "SAGA"  # orchestra's outcomes
    FEED = "FEED"  # the status feed: our store / delivery or a neighbour
    PAYMENT = "PAYMENT"
    BILLING = "BILLING"  # a gift card issued
    SYSTEM = "SYSTEM"  # order_svc's own sweepers and the hand-over


Moves = dict[S, frozenset[S]]

CANCELLABLE_AT_ONCE = frozenset({S.NEW, S.AWAITING_PAYMENT, S.PAID})
# orchestra has the order: undoing it is a compensation, not a status write
HANDED_OVER = frozenset(
    {S.IN_PROGRESS, S.CONFIRMED, S.ASSEMBLING, S.READY_FOR_PICKUP, S.DELIVERING, S.COMPLETED}
)
UNTIL_DELIVERED = frozenset({S.CONFIRMED, S.ASSEMBLING, S.READY_FOR_PICKUP, S.DELIVERING})
FULFILMENT: Moves = {
    S.CONFIRMED: frozenset({S.ASSEMBLING, S.READY_FOR_PICKUP, S.DELIVERING}),
    S.ASSEMBLING: frozenset({S.READY_FOR_PICKUP, S.DELIVERING}),
    S.READY_FOR_PICKUP: frozenset({S.COMPLETED}),
    S.DELIVERING: frozenset({S.COMPLETED}),
}


def _with(moves: Moves, sources: frozenset[S], target: S) -> Moves:
    merged = dict(moves)
    for source in sources:
        merged[source] = merged.get(source, frozenset()) | {target}
    return merged


GOODS: dict[Actor, Moves] = {
    Actor.CUSTOMER: _with(
        {S.NEW: frozenset({S.AWAITING_PAYMENT, S.FAILED}), S.PAID: frozenset({S.IN_PROGRESS})},
        # Business feature: a customer may cancel until picking starts
        CANCELLABLE_AT_ONCE | {S.CONFIRMED},
        S.CANCELLED,
    ),
    Actor.ADMIN: _with(
        _with(FULFILMENT, CANCELLABLE_AT_ONCE | UNTIL_DELIVERED, S.CANCELLED),
        frozenset({S.COMPLETED}),
        S.RETURNED,
    ),
    Actor.SAGA: _with(
        # a cancellation that lost the race against the delivery still ends CANCELLED: the
        # compensation has run and the money is back
        _with({S.IN_PROGRESS: frozenset({S.CONFIRMED})}, HANDED_OVER, S.CANCELLED),
        frozenset({S.COMPLETED}),
        S.RETURNED,
    ),
    Actor.FEED: _with(
        FULFILMENT, frozenset({S.ASSEMBLING, S.READY_FOR_PICKUP, S.DELIVERING}), S.CANCELLED
    ),
    Actor.PAYMENT: {S.AWAITING_PAYMENT: frozenset({S.PAID})},
    Actor.BILLING: {},
    Actor.SYSTEM: {
        S.AWAITING_PAYMENT: frozenset({S.CANCELLED}),  # unpaid in time
        S.PAID: frozenset({S.IN_PROGRESS}),  # the hand-over by itself
        S.IN_PROGRESS: frozenset({S.CANCELLED}),  # never reached its saga
    },
}
# Business feature: a gift card has nothing to confirm, pick or deliver, so its order skips
# the saga; billing issuing the card completes it. It may be cancelled until it is paid: a paid
# order has already asked billing for its card (and the donee may hold the code), so a refund
# then would leave the card issued and the money back with the buyer.
_UNPAID_GIFT: Moves = {S.AWAITING_PAYMENT: frozenset({S.CANCELLED})}
GIFT_CARDS: dict[Actor, Moves] = {
    Actor.CUSTOMER: _UNPAID_GIFT,
    Actor.ADMIN: _UNPAID_GIFT,
    Actor.SYSTEM: _UNPAID_GIFT,
    Actor.PAYMENT: {S.AWAITING_PAYMENT: frozenset({S.PAID})},
    Actor.BILLING: {S.PAID: frozenset({S.COMPLETED})},
}


class ForbiddenMove(Conflict):
    def __init__(self, actor: Actor, current: S, wanted: S) -> None:
        super().__init__(
            f"{actor.lower()} may not move the order from {current} to {wanted}"
            f" (current status {current})"
        )


def allows(actor: Actor, current: S, wanted: S, kind: OrderKind = OrderKind.GOODS) -> bool:
    table = GIFT_CARDS if kind is OrderKind.GIFT_CARD else GOODS
    return wanted in table.get(actor, {}).get(current, frozenset())


def check(actor: Actor, current: S, wanted: S, kind: OrderKind = OrderKind.GOODS) -> None:
    if not allows(actor, current, wanted, kind):
        raise ForbiddenMove(actor, current, wanted)


def through_orchestra(current: S, kind: OrderKind = OrderKind.GOODS) -> bool:
    """Undoing an order in `current` is orchestra's compensation (it holds a saga, or may)."""
    return kind is OrderKind.GOODS and current in HANDED_OVER
