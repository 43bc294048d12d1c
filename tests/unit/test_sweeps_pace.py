"""servicekit.sweeps.Pace: a sweeper sleeps until the earliest due time it read, never longer
than its backstop and never less than its old interval after a round began; a wake starts the
next round at once."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from servicekit.sweeps import Pace, soonest

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def pace(every: float, longest: float) -> Pace:
    return Pace(every, longest, clock=lambda: NOW)


def test_nothing_pending_sleeps_the_backstop() -> None:
    assert 29.9 < pace(1.0, 30.0).delay(None) <= 30.0


def test_a_due_time_ahead_is_slept_to_just_after_it() -> None:
    assert 3.0 < pace(1.0, 30.0).delay(NOW + timedelta(seconds=3)) < 3.1


def test_a_due_time_past_or_near_waits_the_old_interval_since_the_round_began() -> None:
    assert 0.9 < pace(1.0, 30.0).delay(NOW - timedelta(seconds=5)) <= 1.0
    assert 0.9 < pace(1.0, 30.0).delay(NOW + timedelta(seconds=0.2)) <= 1.0


def test_a_due_time_beyond_the_backstop_is_looked_at_by_the_backstop() -> None:
    assert 9.9 < pace(1.0, 10.0).delay(NOW + timedelta(minutes=10)) <= 10.0


def test_the_soonest_of_several_sweeps_ignores_the_empty_ones() -> None:
    later = NOW + timedelta(seconds=9)
    assert soonest(None, later, NOW) == NOW
    assert soonest(None, None) is None


async def test_a_wake_ends_a_long_sleep_at_once_and_one_before_the_sleep_too() -> None:
    p = pace(1.0, 30.0)
    started = time.monotonic()
    asyncio.get_running_loop().call_later(0.05, p.wake)
    await p.sleep(None)
    assert time.monotonic() - started < 1.0

    p.wake()  # during a round: the next round starts at once
    started = time.monotonic()
    await p.sleep(None)
    assert time.monotonic() - started < 0.5


async def test_a_nudge_starts_the_next_round_the_old_interval_after_the_last_began() -> None:
    p = pace(0.3, 30.0)
    started = time.monotonic()
    p.nudge()  # a commit during the round: no busy loop, one round per interval
    await p.sleep(None)
    assert 0.25 < time.monotonic() - started < 1.0
