"""Steps that survive a service being killed under them: each is retried while it fails the
way a restarting service fails (5xx, lost connections, our own earlier try still running),
with the same order id or Idempotency-Key, until it lands or the driver's patience ends."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import aiohttp

from trials.shoppers.shopper import EdgeError

T = TypeVar("T")
RETRYABLE = (aiohttp.ClientError, TimeoutError, ConnectionError)


@dataclass
class LoadStats:
    orders: Counter[str] = field(default_factory=Counter)  # fate -> count
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    means: Counter[str] = field(default_factory=Counter)  # how payments and top-ups went


async def persist(
    step: Callable[[], Awaitable[T]], stats: LoadStats, what: str, patience: float = 120.0
) -> T:
    """Run `step` until it answers: 5xx/503 and lost connections are a service restarting."""
    started = time.monotonic()
    deadline = started + patience
    delay = 0.2
    while True:
        try:
            return await step()
        except EdgeError as exc:
            if not retryable(exc):
                raise
            if time.monotonic() > deadline:
                raise GaveUp(what, time.monotonic() - started, exc) from exc
        except RETRYABLE as exc:
            if time.monotonic() > deadline:
                raise GaveUp(what, time.monotonic() - started, exc) from exc
        stats.retries += 1
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 3.0)


class GaveUp(Exception):
    """A step that kept failing in a retryable way for longer than the driver's patience."""

    def __init__(self, what: str, waited: float, last: BaseException) -> None:
        super().__init__(f"{what}: still failing after {waited:.0f}s, last: {last!r}")


def retryable(exc: EdgeError) -> bool:
    """A service restarting (5xx), or our earlier try of the same Idempotency-Key still
    counted as running (409 until its dead process's lease runs out)."""
    in_progress = exc.status == 409 and "in progress" in str(exc.body)
    return exc.status >= 500 or in_progress
