"""The saga of one order as a pure state machine: events in, new state and commands out.

STARTED -> CONFIRMING -> CONFIRMED             (every participant answered CONFIRM: SUCCESS)
                      -> COMPENSATING -> CANCELLED   (a FAIL or the deadline passed; REVERSE sent
                                                      to every participant, all acknowledged)
CONFIRMING | CONFIRMED -> COMPENSATING         (order_svc asked to cancel or return the order)
(no saga) -> COMPENSATING                      (a cancellation came before the order: REVERSE
                                                leaves tombstones, so a late CONFIRM is refused)
Orchestra alone decides how an order handed to it ends, so its saga's state always matches the
order's.
Participants make REVERSE a no-op for what they never did and refuse a CONFIRM that arrives
after a REVERSE, so REVERSE can go to everyone, any number of times.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from schemas.saga import Confirmator, RequestType, SagaResponse
from schemas.saga_http import SagaState, StepState

PARTICIPANTS = (Confirmator.PAYMENT, Confirmator.STORE, Confirmator.DELIVERY)


FINAL = (SagaState.CONFIRMED, SagaState.CANCELLED)


@dataclass(frozen=True)
class Send:
    """Send `request` to `to`."""

    to: Confirmator
    request: RequestType


@dataclass(frozen=True)
class Outcome:
    """Tell order_svc and notification_svc how the saga ended."""

    response: SagaResponse
    reason: str | None


Command = Send | Outcome


@dataclass(frozen=True)
class Saga:
    order_id: str
    state: SagaState
    steps: dict[Confirmator, StepState]
    deadline: datetime
    reason: str | None = None
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def noted(self, now: datetime, event: str, **detail: Any) -> Saga:
        entry = {"at": now, "event": event, "state": str(self.state), **detail}
        return replace(self, history=(*self.history, entry))


def start(order_id: str, now: datetime, timeout: timedelta) -> tuple[Saga, list[Command]]:
    steps = dict.fromkeys(PARTICIPANTS, StepState.PENDING)
    saga = Saga(order_id, SagaState.CONFIRMING, steps, now + timeout)
    return saga.noted(now, "started"), [Send(p, RequestType.CONFIRM) for p in PARTICIPANTS]


def on_reply(
    saga: Saga,
    who: Confirmator,
    kind: RequestType,
    response: SagaResponse,
    reason: str | None,
    now: datetime,
    timeout: timedelta,
) -> tuple[Saga, list[Command]]:
    saga = saga.noted(now, f"{kind} {response}", participant=str(who), reason=reason)
    if kind is RequestType.REVERSE:
        return _reversed(saga, who, response, now, timeout)
    if saga.steps[who] is not StepState.PENDING:
        return saga, []  # an answer we already have (another copy of it)
    ok = response is SagaResponse.SUCCESS
    steps = {**saga.steps, who: StepState.SUCCESS if ok else StepState.FAIL}
    saga = replace(saga, steps=steps)
    if saga.state is not SagaState.CONFIRMING:
        return saga, []  # late CONFIRM answer while compensating: the REVERSE is on its way
    if not ok:
        return compensate(saga, f"{who}: {reason or 'refused'}", now, timeout)
    if all(s is StepState.SUCCESS for s in steps.values()):
        done = replace(saga, state=SagaState.CONFIRMED).noted(now, "confirmed")
        return done, [Outcome(SagaResponse.SUCCESS, None)]
    return saga, []


def compensate(
    saga: Saga, reason: str, now: datetime, timeout: timedelta
) -> tuple[Saga, list[Command]]:
    saga = replace(saga, state=SagaState.COMPENSATING, reason=reason, deadline=now + timeout)
    return saga.noted(now, "compensating", reason=reason), [
        Send(p, RequestType.REVERSE) for p in PARTICIPANTS
    ]


def _reversed(
    saga: Saga, who: Confirmator, response: SagaResponse, now: datetime, timeout: timedelta
) -> tuple[Saga, list[Command]]:
    if saga.state is not SagaState.COMPENSATING or response is not SagaResponse.SUCCESS:
        return saga, []  # a REVERSE that failed is sent again at the deadline
    saga = replace(saga, steps={**saga.steps, who: StepState.REVERSED})
    if all(s is StepState.REVERSED for s in saga.steps.values()):
        done = replace(saga, state=SagaState.CANCELLED).noted(now, "cancelled")
        return done, [Outcome(SagaResponse.FAIL, saga.reason)]
    return saga, []


def on_deadline(saga: Saga, now: datetime, timeout: timedelta) -> tuple[Saga, list[Command]]:
    """Nobody answered in time: a CONFIRMING saga compensates; a COMPENSATING one asks the
    participants that have not acknowledged REVERSE again."""
    if saga.state is SagaState.CONFIRMING:
        silent = [str(p) for p, s in saga.steps.items() if s is StepState.PENDING]
        return compensate(saga, f"no answer in time from {', '.join(silent)}", now, timeout)
    if saga.state is SagaState.COMPENSATING:
        again = [p for p, s in saga.steps.items() if s is not StepState.REVERSED]
        saga = replace(saga, deadline=now + timeout).noted(now, "reverse resent")
        return saga, [Send(p, RequestType.REVERSE) for p in again]
    return saga, []


def start_cancelled(
    order_id: str, by: str, reason: str, now: datetime, timeout: timedelta
) -> tuple[Saga, list[Command]]:
    """A cancellation of an order orchestra never saw: undo whatever the participants did."""
    steps = dict.fromkeys(PARTICIPANTS, StepState.PENDING)
    saga = Saga(order_id, SagaState.COMPENSATING, steps, now + timeout)
    saga = saga.noted(now, "cancellation asked", by=by, reason=reason)
    return compensate(saga, reason, now, timeout)


def cancel(
    saga: Saga, by: str, reason: str, now: datetime, timeout: timedelta
) -> tuple[Saga, list[Command]]:
    """order_svc asks to undo the order (a cancellation or a return): a running or confirmed
    saga compensates; a compensating one is already doing so; a cancelled one says so again."""
    saga = saga.noted(now, "cancellation asked", by=by, reason=reason)
    if saga.state in (SagaState.CONFIRMING, SagaState.CONFIRMED):
        return compensate(saga, reason, now, timeout)
    if saga.state is SagaState.CANCELLED:
        return saga, [Outcome(SagaResponse.FAIL, saga.reason)]
    return saga, []
