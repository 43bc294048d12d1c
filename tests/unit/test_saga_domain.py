"""The saga state machine, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestra import domain
from orchestra.domain import Outcome, SagaState, Send, StepState
from schemas.saga import Confirmator as C
from schemas.saga import RequestType as R
from schemas.saga import SagaResponse as S

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
T = timedelta(seconds=30)


def reply(saga, who, kind=R.CONFIRM, response=S.SUCCESS, reason=None, now=NOW):
    return domain.on_reply(saga, who, kind, response, reason, now, T)


def test_start_asks_every_participant_to_confirm_with_a_deadline():
    saga, commands = domain.start("o1", NOW, T)
    assert saga.state is SagaState.CONFIRMING and saga.deadline == NOW + T
    assert commands == [
        Send(C.PAYMENT, R.CONFIRM),
        Send(C.STORE, R.CONFIRM),
        Send(C.DELIVERY, R.CONFIRM),
    ]


def test_all_three_successes_confirm_the_order_once():
    saga, _ = domain.start("o1", NOW, T)
    saga, out1 = reply(saga, C.PAYMENT)
    saga, out2 = reply(saga, C.STORE)
    assert out1 == out2 == [] and saga.state is SagaState.CONFIRMING
    saga, out3 = reply(saga, C.DELIVERY)
    assert saga.state is SagaState.CONFIRMED
    assert out3 == [Outcome(S.SUCCESS, None)]
    saga, again = reply(saga, C.DELIVERY)
    assert again == [] and saga.state is SagaState.CONFIRMED


def test_the_first_fail_reverses_every_participant_and_cancels_when_all_acknowledge():
    saga, _ = domain.start("o1", NOW, T)
    saga, _ = reply(saga, C.PAYMENT)
    saga, out = reply(saga, C.STORE, response=S.FAIL, reason="out of stock")
    assert saga.state is SagaState.COMPENSATING and saga.reason == "STORE: out of stock"
    assert out == [
        Send(C.PAYMENT, R.REVERSE),
        Send(C.STORE, R.REVERSE),
        Send(C.DELIVERY, R.REVERSE),
    ]
    saga, late = reply(saga, C.DELIVERY)  # a CONFIRM answer arriving after the FAIL
    assert late == [] and saga.steps[C.DELIVERY] is StepState.SUCCESS
    for who in (C.PAYMENT, C.STORE):
        saga, out = reply(saga, who, kind=R.REVERSE)
        assert out == []
    saga, out = reply(saga, C.DELIVERY, kind=R.REVERSE)
    assert saga.state is SagaState.CANCELLED
    assert out == [Outcome(S.FAIL, "STORE: out of stock")]


def test_a_second_fail_does_not_reverse_twice():
    saga, _ = domain.start("o1", NOW, T)
    saga, _ = reply(saga, C.STORE, response=S.FAIL, reason="x")
    saga, out = reply(saga, C.PAYMENT, response=S.FAIL, reason="declined")
    assert out == [] and saga.reason == "STORE: x"


def test_silence_past_the_deadline_compensates_naming_the_silent_participants():
    saga, _ = domain.start("o1", NOW, T)
    saga, _ = reply(saga, C.PAYMENT)
    saga, out = domain.on_deadline(saga, NOW + T, T)
    assert saga.state is SagaState.COMPENSATING
    assert saga.reason == "no answer in time from STORE, DELIVERY"
    assert len(out) == 3 and all(c.request is R.REVERSE for c in out if isinstance(c, Send))


def test_a_compensating_saga_past_its_deadline_asks_only_the_unacknowledged_again():
    saga, _ = domain.start("o1", NOW, T)
    saga, _ = reply(saga, C.PAYMENT, response=S.FAIL, reason="declined")
    saga, _ = reply(saga, C.PAYMENT, kind=R.REVERSE)
    saga, out = domain.on_deadline(saga, NOW + 2 * T, T)
    assert out == [Send(C.STORE, R.REVERSE), Send(C.DELIVERY, R.REVERSE)]
    assert saga.deadline == NOW + 3 * T


def test_the_history_records_every_answer_with_its_time():
    saga, _ = domain.start("o1", NOW, T)
    saga, _ = reply(saga, C.PAYMENT, now=NOW + timedelta(seconds=1))
    assert [h["event"] for h in saga.history] == ["started", "CONFIRM SUCCESS"]
    assert saga.history[1]["at"] == NOW + timedelta(seconds=1)
    assert saga.history[1]["participant"] == "PAYMENT"


REVERSE_ALL = [Send(C.PAYMENT, R.REVERSE), Send(C.STORE, R.REVERSE), Send(C.DELIVERY, R.REVERSE)]


def reverse_all(saga):
    outs = []
    for who in (C.PAYMENT, C.STORE, C.DELIVERY):
        saga, out = reply(saga, who, R.REVERSE)
        outs += out
    return saga, outs


def confirmed():
    saga, _ = domain.start("o1", NOW, T)
    for who in (C.PAYMENT, C.STORE, C.DELIVERY):
        saga, _ = reply(saga, who)
    return saga


def test_a_cancellation_of_a_confirmed_saga_compensates_and_ends_cancelled_with_its_reason():
    saga, commands = domain.cancel(confirmed(), "anna", "changed my mind", NOW, T)
    assert saga.state is SagaState.COMPENSATING and commands == REVERSE_ALL
    saga, outs = reverse_all(saga)
    assert saga.state is SagaState.CANCELLED
    assert outs == [Outcome(S.FAIL, "changed my mind")]
    asked = [h for h in saga.history if h["event"] == "cancellation asked"]
    assert asked and asked[0]["by"] == "anna" and asked[0]["reason"] == "changed my mind"


def test_a_cancellation_of_a_running_saga_compensates_and_late_confirms_change_nothing():
    saga, _ = domain.start("o1", NOW, T)
    saga, _ = reply(saga, C.PAYMENT)
    saga, commands = domain.cancel(saga, "order_svc", "too late", NOW, T)
    assert saga.state is SagaState.COMPENSATING and commands == REVERSE_ALL
    saga, late = reply(saga, C.STORE)
    assert late == [] and saga.state is SagaState.COMPENSATING
    saga, outs = reverse_all(saga)
    assert outs == [Outcome(S.FAIL, "too late")]


def test_a_cancellation_without_a_saga_starts_one_that_only_compensates():
    saga, commands = domain.start_cancelled("o1", "order_svc", "not confirmed in time", NOW, T)
    assert saga.state is SagaState.COMPENSATING and commands == REVERSE_ALL
    assert saga.deadline == NOW + T
    saga, outs = reverse_all(saga)
    assert saga.state is SagaState.CANCELLED
    assert outs == [Outcome(S.FAIL, "not confirmed in time")]


def test_a_cancellation_while_compensating_sends_nothing_new_and_a_cancelled_saga_answers_again():
    saga, _ = domain.start("o1", NOW, T)
    saga, _ = reply(saga, C.STORE, response=S.FAIL, reason="no stock")
    saga, commands = domain.cancel(saga, "anna", "changed my mind", NOW, T)
    assert commands == [] and saga.state is SagaState.COMPENSATING
    saga, outs = reverse_all(saga)
    assert outs == [Outcome(S.FAIL, "STORE: no stock")]
    saga, again = domain.cancel(saga, "anna", "changed my mind", NOW, T)
    assert again == [Outcome(S.FAIL, "STORE: no stock")] and saga.state is SagaState.CANCELLED
