"""When the chaos report counts a killed replica's partitions as moved to its sibling: it was in
the group with the sibling before the kill and the broker then dropped it, leaving the sibling
alone; settled when the group was also seen stable again (trials/chaos/takeover.py)."""

from __future__ import annotations

from trials.chaos.takeover import Takeover


def killed(**seen: object) -> Takeover:
    t = Takeover("orchestra.1", 12.0, ["orchestra.2"])
    for name, value in seen.items():
        setattr(t, name, value)
    return t


def test_a_replica_dropped_from_a_stable_group_its_sibling_alone_holds_has_moved_and_settled():
    t = killed(members_before=2, members_after=1, group_moved_after_s=8.6)
    assert t.moved and t.settled


def test_a_group_still_rebalancing_when_the_replica_came_back_has_moved_but_not_settled():
    t = killed(members_before=2, members_after=1, group_moved_after_s=None)
    assert t.moved and not t.settled


def test_a_replica_never_dropped_before_its_restart_has_not_moved():
    assert not killed(members_before=2, members_after=None).moved


def test_a_replica_that_had_not_joined_the_group_yet_proves_no_move():
    # the group already had the sibling alone: the count never dropped because of the kill
    assert not killed(members_before=1, members_after=1, group_moved_after_s=0.01).moved


def test_with_no_sibling_up_nothing_could_move():
    t = Takeover("orchestra.1", 12.0, [])
    t.members_before, t.members_after, t.group_moved_after_s = 1, 0, 8.0
    assert not t.moved
