"""How long a sweeper sleeps between its rounds: until the earliest due time it knows of,
not a fixed poll.

A sweeper (a `service.loop` that handles what is due: sagas past their deadline, refunds to
make) used to look every `every` seconds whether anything was due, which in an idle shop was
most of the database's work. `Pace` keeps that as the shortest gap between two rounds (so an
item is handled at most `every` after it falls due, as before, and a busy sweeper still does one
round per `every`), and otherwise sleeps until whichever comes first:

- the earliest due time among the items the round left (the sweeper reads it: `next_due`);
- `wake()`: a commit of this process made something due (`tx.on_commit(pace.wake)`);
- `nudge()`: a commit of this process may have made something due (`service.after_commit`):
  the next round comes `every` after the last began at the latest, so a busy service's
  commits do not turn its sweeper into a busy loop;
- `longest` after the round began: the backstop for what no wake and no read due time covers,
  an item written by another process (a replica, under the loop's lease; a due time written
  before the round read it but committed after). A sweeper sets it below the shortest time
  from an item's write to its due time (a saga's deadline is its write + the saga timeout), or
  to its old interval where another process may write items due at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from servicekit.mongo import EARLIEST, Doc, utcnow

if TYPE_CHECKING:
    from servicekit.service import Service

JUST_AFTER = 0.005
# `longest` for a sweeper that every commit making an item due wakes or nudges (one replica):
# nothing the service writes is left for it to find; it covers a document changed by hand (a
# test, an operator), found within 10 s instead of the old interval
BACKSTOP = 10.0


class Pace:
    def __init__(
        self, every: float, longest: float, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.every = every
        self.clock = clock
        self.longest = max(longest, every)
        self._woken = asyncio.Event()
        self._urgent = False
        self._round_started: float | None = None  # the first round: when it ends (ms later)

    def wake(self) -> None:
        """Something is due now: the next round starts at once (no `every` floor: a wake is
        one event, not a busy loop)."""
        self._urgent = True
        self._woken.set()

    def nudge(self) -> None:
        """Something may be due now: the next round starts `every` after the last began."""
        self._woken.set()

    def delay(self, next_due: datetime | None) -> float:
        """Seconds from now to the next round, the current round having begun at
        `_round_started` and left `next_due` (None: nothing pending)."""
        now = time.monotonic()
        started = now if self._round_started is None else self._round_started
        target = started + self.longest
        if next_due is not None:
            target = min(target, now + seconds_to(next_due, self.clock))
        target = max(target, started + self.every)
        return max(0.0, target - now)

    async def sleep(self, next_due: datetime | None) -> None:
        """End of a round: sleep until the next one (above), then mark its start."""
        delay = self.delay(next_due)
        if delay > 0 and not self._woken.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), delay)
        if self._woken.is_set() and not self._urgent:  # nudged: keep to one round per `every`
            started = self._round_started or time.monotonic()
            await asyncio.sleep(max(0.0, started + self.every - time.monotonic()))
        self._woken.clear()
        self._urgent = False
        self._round_started = time.monotonic()


async def earliest(
    collection: AsyncCollection[Doc], query: dict[str, Any], field: str
) -> datetime | None:
    """The earliest `field` among the documents `query` finds (None: none has one): what a
    sweeper hands `Pace.sleep`. The range's lower bound keeps the documents without one (a
    finished item, listed under null in the index) out of the walk (servicekit.mongo.due_by)."""
    cursor = collection.find({**query, field: {"$gte": EARLIEST}}, {field: 1})
    async for doc in cursor.sort(field, ASCENDING).limit(1):
        when: datetime = doc[field]
        return when
    return None


def soonest(*dues: datetime | None) -> datetime | None:
    """The earliest of several sweeps' next due times (None: nothing pending in any)."""
    return min((due for due in dues if due is not None), default=None)


def nudged(service: Service, every: float, clock: Callable[[], datetime] = utcnow) -> Pace:
    """The pace of a sweeper whose items become due in this service's transactions: every
    commit nudges it. With replicas, a commit in another replica cannot (the sweeper runs in
    the lease holder), so it still looks every `every` there."""
    longest = every if service.settings.replicas > 1 else BACKSTOP
    pace = Pace(every, longest, clock)
    service.after_commit.append(pace.nudge)
    return pace


def seconds_to(due: datetime, clock: Callable[[], datetime] = utcnow) -> float:
    """Seconds from `clock()` to just after `due` (JUST_AFTER: a sweeper's query asks for due
    times before its clock's now); negative when it is past."""
    return (due - clock()).total_seconds() + JUST_AFTER


def poll_wait(
    next_due: datetime | None, shortest: float, longest: float, clock: Callable[[], datetime]
) -> float:
    """For a loop with its own wake-up (notification_svc's sender): seconds from now to its
    next look, until just after `next_due` but within [shortest, longest]."""
    wait = longest if next_due is None else min(longest, seconds_to(next_due, clock))
    return max(shortest, wait)
