"""The sender: sends due notifications through their channel, outside any transaction, and
records how each attempt ended.

A transaction may run its callback more than once, so handlers only queue a notification;
this loop sends it. Each send is claimed first (one sender per notification at a time) and
carries the notification id as the provider's idempotency key: if the process dies after
sending but before recording, the claim runs out, another attempt sends with the same key and
the provider answers with the first send instead of sending twice.

A handler queues a new notification already claimed by this process's sender (its first
attempt: `claim_fields`) and hands it over once its transaction has committed (`take`), so the
first attempt costs no claim write and no wait for the next poll. If the process dies first,
that claim runs out like any other and a poll picks the notification up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from notification_svc.adapters import Channels, PermanentSendError
from notification_svc.domain import (
    Clock,
    Failed,
    Notification,
    Outcome,
    Retry,
    RetryPolicy,
    Sent,
    Status,
    render,
)
from notification_svc.repository import Notifications
from notification_svc.settings import NotificationSettings
from servicekit import faults
from servicekit.mongo import Doc
from servicekit.service import Service
from servicekit.sweeps import BACKSTOP, poll_wait

log = logging.getLogger(__name__)


async def deliver(
    n: Notification, channels: Channels, policy: RetryPolicy, clock: Clock, timeout: float
) -> Outcome:
    """One send attempt (`n.attempts` counts it); the error text never holds the secret."""
    if n.expired(clock()):
        return Failed("expired before it could be sent")
    try:
        async with asyncio.timeout(timeout):
            provider_id = await channels.send(n.channel, render(n), n.id)
    except PermanentSendError as exc:
        return Failed(n.redact(str(exc)))
    except Exception as exc:  # the neighbour may be back soon: try again later
        error = n.redact(f"{type(exc).__name__}: {exc}")
        return policy.after_failure(n.attempts, error, clock(), n.created_at)
    return Sent(provider_id, clock())


class Sender:
    def __init__(
        self,
        notifications: Notifications,
        channels: Channels,
        settings: NotificationSettings,
        clock: Clock,
    ) -> None:
        self.notifications = notifications
        self.channels = channels
        self.clock = clock
        self.policy = RetryPolicy(
            attempts=settings.send_attempts,
            first_delay=timedelta(seconds=settings.send_retry_seconds),
            give_up_after=timedelta(seconds=settings.send_give_up_seconds),
        )
        self.poll_seconds = settings.send_poll_seconds
        self.batch = settings.send_batch
        self.timeout = settings.send_timeout_seconds
        self.lease = timedelta(seconds=settings.send_lease_seconds)
        self.token = uuid.uuid4().hex  # the claim on what this process's handlers queue
        self._held: dict[str, Notification] = {}
        self._wake = asyncio.Event()

    def claim_fields(self, now: datetime) -> Doc:
        """A new notification's first attempt, claimed by this sender (repository.add)."""
        sending = Status.SENDING.value
        return {"status": sending, "claim": self.token, "claimedAt": now, "dueAt": now + self.lease}

    def take(self, n: Notification) -> None:
        """Send `n`, queued claimed by this sender in a transaction that has committed."""
        self._held[n.id] = replace(n, status=Status.SENDING, attempts=n.attempts + 1)
        self._wake.set()

    async def run(self, _: Service) -> None:
        """The loop: send what the handlers handed over, and every poll what is due (less
        than a batch due: wait for the next hand-over or poll)."""
        next_poll = 0.0
        while True:
            if await self.send_held():  # one that failed is due again soon: poll as before
                next_poll = min(next_poll, time.monotonic() + self.poll_seconds)
            full = False
            if time.monotonic() >= next_poll:
                full = await self.send_due() >= self.batch
                # what is due later (a retry, a dead sender's lease) is read back; a new
                # notification is handed over at commit (take), in whichever replica made it
                due = await self.notifications.next_due()
                wait = poll_wait(due, self.poll_seconds, BACKSTOP, self.clock)
                next_poll = time.monotonic() + wait
            if not full and not self._held:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    wait = max(0.0, next_poll - time.monotonic())
                    await asyncio.wait_for(self._wake.wait(), wait)

    async def send_held(self) -> int:
        """Send what the handlers handed over (claimed when queued); how many."""
        held, self._held = list(self._held.values()), {}
        await self.send(self.token, held)
        return len(held)

    async def send_due(self) -> int:
        """Claim what is due in one write, send it all at once, record the outcomes in one
        write; how many were due."""
        due = await self.notifications.due(self.clock(), self.batch)
        if not due:
            return 0
        token, mine = await self.notifications.claim([n.id for n in due], self.clock(), self.lease)
        await self.send(token, [replace(n, attempts=n.attempts + 1) for n in due if n.id in mine])
        return len(due)

    async def send(self, token: str, claimed: list[Notification]) -> None:
        """Send these notifications (claimed with `token`) at once, record the outcomes in
        one write."""
        if not claimed:
            return
        results = await asyncio.gather(
            *(deliver(n, self.channels, self.policy, self.clock, self.timeout) for n in claimed),
            return_exceptions=True,
        )
        outcomes: dict[str, Outcome] = {}
        for n, result in zip(claimed, results, strict=True):
            if isinstance(result, BaseException):
                # its claim runs out and another attempt picks it up
                log.warning("sending notification %s failed: %r", n.id, result)
                continue
            if isinstance(result, Sent):
                faults.point("notification.after_send")
            outcomes[n.id] = result
        recorded = await self.notifications.record(token, outcomes)
        if recorded == len(outcomes):
            for n in claimed:
                if n.id in outcomes:
                    report(n, outcomes[n.id])
        else:  # a send outlived its lease and another sender took that notification over
            lost = len(outcomes) - recorded
            log.warning("%d of %d outcomes not recorded: claims lost", lost, len(outcomes))


def report(n: Notification, outcome: Outcome) -> None:
    """Log the outcome by id and kind: never the address, the text or the secret."""
    what = f"{n.kind} {n.id} for {n.username} by {n.channel}"
    if isinstance(outcome, Sent):
        log.info("sent %s (attempt %d)", what, n.attempts)
    elif isinstance(outcome, Retry):
        log.warning(
            "attempt %d of %s failed, retry at %s: %s", n.attempts, what, outcome.at, outcome.error
        )
    else:
        log.error("gave up on %s: %s", what, outcome.error)
