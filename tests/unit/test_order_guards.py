"""Who may move an order from what to what (SPEC §5), without I/O."""

from __future__ import annotations

import itertools

import pytest

from order_svc import guards
from order_svc.guards import Actor
from schemas.order import OrderStatus as S

HANDED_OVER_BUT_NOT_RUNNING = [S.CONFIRMED, S.ASSEMBLING, S.READY_FOR_PICKUP, S.DELIVERING]


def test_the_happy_path_is_walked_by_customer_payment_system_saga_and_feed():
    steps = [
        (Actor.CUSTOMER, S.NEW, S.AWAITING_PAYMENT),
        (Actor.PAYMENT, S.AWAITING_PAYMENT, S.PAID),
        (Actor.SYSTEM, S.PAID, S.IN_PROGRESS),
        (Actor.SAGA, S.IN_PROGRESS, S.CONFIRMED),
        (Actor.FEED, S.CONFIRMED, S.ASSEMBLING),
        (Actor.FEED, S.ASSEMBLING, S.READY_FOR_PICKUP),
        (Actor.FEED, S.READY_FOR_PICKUP, S.COMPLETED),
    ]
    for actor, current, wanted in steps:
        guards.check(actor, current, wanted)


@pytest.mark.parametrize("actor", list(Actor))
def test_nobody_cancels_an_order_in_progress_but_the_system_and_the_saga(actor: Actor):
    allowed = guards.allows(actor, S.IN_PROGRESS, S.CANCELLED)
    assert allowed is (actor in (Actor.SYSTEM, Actor.SAGA))


def test_a_customer_cancels_until_picking_starts_and_an_admin_until_delivered():
    for status in (S.NEW, S.AWAITING_PAYMENT, S.PAID, S.CONFIRMED):
        assert guards.allows(Actor.CUSTOMER, status, S.CANCELLED), status
    for status in (S.ASSEMBLING, S.READY_FOR_PICKUP, S.DELIVERING, S.COMPLETED):
        assert not guards.allows(Actor.CUSTOMER, status, S.CANCELLED), status
    for status in (S.NEW, S.AWAITING_PAYMENT, S.PAID, *HANDED_OVER_BUT_NOT_RUNNING):
        assert guards.allows(Actor.ADMIN, status, S.CANCELLED), status
    assert not guards.allows(Actor.ADMIN, S.COMPLETED, S.CANCELLED)


def test_the_feed_cancels_only_from_assembling_ready_for_pickup_and_delivering():
    cancellable = {s for s in S if guards.allows(Actor.FEED, s, S.CANCELLED)}
    assert cancellable == {S.ASSEMBLING, S.READY_FOR_PICKUP, S.DELIVERING}


def test_only_an_admin_returns_a_completed_order_and_only_a_completed_one():
    assert guards.allows(Actor.ADMIN, S.COMPLETED, S.RETURNED)
    assert not guards.allows(Actor.CUSTOMER, S.COMPLETED, S.RETURNED)
    assert not guards.allows(Actor.FEED, S.COMPLETED, S.RETURNED)
    assert {s for s in S if guards.allows(Actor.ADMIN, s, S.RETURNED)} == {S.COMPLETED}


def test_only_payment_pays_and_only_the_saga_confirms():
    for actor in Actor:
        assert guards.allows(actor, S.AWAITING_PAYMENT, S.PAID) is (actor is Actor.PAYMENT)
        assert guards.allows(actor, S.IN_PROGRESS, S.CONFIRMED) is (actor is Actor.SAGA)


@pytest.mark.parametrize(
    ("actor", "current", "wanted"),
    [
        (Actor.CUSTOMER, S.IN_PROGRESS, S.CANCELLED),
        (Actor.ADMIN, S.AWAITING_PAYMENT, S.PAID),
        (Actor.ADMIN, S.PAID, S.IN_PROGRESS),
        (Actor.FEED, S.IN_PROGRESS, S.ASSEMBLING),
        (Actor.FEED, S.CONFIRMED, S.CANCELLED),
        (Actor.SAGA, S.CANCELLED, S.CONFIRMED),
    ],
)
def test_a_forbidden_move_is_a_conflict_naming_the_current_status(
    actor: Actor, current: S, wanted: S
):
    with pytest.raises(guards.ForbiddenMove, match=f"current status {current}") as refused:
        guards.check(actor, current, wanted)
    assert refused.value.status == 409 and str(wanted) in refused.value.message


@pytest.mark.parametrize("final", [S.FAILED, S.CANCELLED, S.RETURNED])
def test_nothing_leaves_a_final_state(final: S):
    for actor, wanted in itertools.product(Actor, S):
        assert not guards.allows(actor, final, wanted), (actor, wanted)


def test_undoing_a_handed_over_order_goes_through_orchestra():
    for status in (S.IN_PROGRESS, *HANDED_OVER_BUT_NOT_RUNNING, S.COMPLETED):
        assert guards.through_orchestra(status)
    for status in (S.NEW, S.AWAITING_PAYMENT, S.PAID):
        assert not guards.through_orchestra(status)
