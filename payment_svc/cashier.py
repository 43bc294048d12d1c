"""Taking the customer's money, crash-safe.

Bank charge (card, SBP): (a) one transaction stores the attempt PENDING and claims the order;
(b) the bank is called outside any transaction, with the paymentId as idempotency key; (c) one
transaction records the answer and emits its events, and applies only to a still PENDING
attempt. A crash or a lost answer between (b) and (c) leaves the attempt PENDING: the recovery
loop asks the bank what became of the key and records it through the same (c), so it is
recorded once whoever gets there first. An SBP QR charge stays PENDING until the customer pays
the code: the bank's signed callback (`POST /bank/callbacks`) records it through (c), and the
recovery loop polls the bank for a callback that never came (`recheckAt`), until the code is
paid or expires.

Ledger charge (wallet, gift card): (a) also asks billing for the debit, in the same
transaction (outbox); billing's reply records the outcome through (c). Billing always replies,
so such an attempt needs no recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from payment_svc import domain, effects
from payment_svc.adapters import BankApi, BankRefused, BankUnavailable
from payment_svc.refunds import Refunder
from payment_svc.repository import Payments
from payment_svc.settings import PaymentSettings
from schemas.billing import EntryReason, LedgerOp
from schemas.payment_http import BankStatus, ChargeAnswer, ChargeRequest
from schemas.payment_http import PaymentState as P
from schemas.saga import RequestType, SagaResponse
from servicekit import faults
from servicekit.errors import StaleWrite
from servicekit.mongo import Doc
from servicekit.service import Service
from servicekit.unit import Tx

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Outcome:
    """What the bank or billing made of a charge."""

    captured: bool
    charge_id: str | None = None
    reason: str | None = None
    unseen: bool = False  # the bank never saw the key: check again later, the call may land
    pending: bool = False  # a QR code not paid yet: nothing to record
    qr: Doc | None = None

    @classmethod
    def of(cls, answer: ChargeAnswer | None) -> Outcome:
        if answer is None:
            return cls(False, reason=domain.NOT_AT_BANK, unseen=True)
        qr = answer.qr.model_dump(by_alias=True) if answer.qr else None
        if answer.status is BankStatus.PENDING:
            return cls(False, answer.charge_id, pending=True, qr=qr)
        ok = answer.status is BankStatus.SUCCEEDED
        return cls(ok, answer.charge_id, None if ok else answer.decline_reason or "declined")


class Settled:
    """Wakes requests waiting for an attempt to leave PENDING in this process (a ledger
    payment answers once billing has replied) when its outcome commits."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def wake(self, payment_id: str) -> None:
        event = self._events.get(payment_id)
        if event is not None:
            event.set()

    def event(self, payment_id: str) -> asyncio.Event:
        return self._events.setdefault(payment_id, asyncio.Event())

    def forget(self, payment_id: str) -> None:
        self._events.pop(payment_id, None)


class Cashier:
    def __init__(
        self,
        service: Service,
        settings: PaymentSettings,
        payments: Payments,
        bank: BankApi,
        clock: Clock,
    ) -> None:
        self.service = service
        self.settings = settings
        self.payments = payments
        self.bank = bank
        self.clock = clock
        self.grace = timedelta(seconds=settings.pending_grace_seconds)
        self.qr_poll = timedelta(seconds=settings.qr_poll_seconds)
        self.settled = Settled()
        self.refunder = Refunder(service, settings, payments, bank, clock)

    # -- charge --------------------------------------------------------------------------------
    async def open(self, attempt: domain.Attempt, order_status: str) -> Doc:
        """(a) The new attempt, PENDING and holding the order (a ledger attempt also asks
        billing for the debit); or the attempt this customer already made with this key."""
        await self.payments.open_order(attempt.order_id)

        async def run(tx: Tx) -> Doc:
            earlier = await self.payments.by_key(attempt.username, attempt.idem_key, tx.session)
            if earlier is not None:  # the same request, sent again while the first runs
                return earlier
            state = await self.payments.order(attempt.order_id, tx.session)
            domain.check_payable(order_status, attempt.amount, state)
            if not await self.payments.claim(attempt.order_id, attempt.payment_id, tx.session):
                raise StaleWrite(f"order {attempt.order_id} claimed concurrently")
            bank = attempt.via is domain.Via.BANK
            recheck = attempt.created_at + self.grace if bank else None
            doc = await self.payments.insert(attempt, tx.session, recheck)
            if not bank:
                effects.billing(tx, doc, LedgerOp.DEBIT, EntryReason.PAYMENT, attempt.payment_id)
            return doc

        try:
            return await self.service.transaction(run)
        except DuplicateKeyError:
            existing = await self.payments.by_key(attempt.username, attempt.idem_key)
            if existing is None:
                raise
            return existing

    async def charge(self, doc: Doc, request: ChargeRequest) -> Doc:
        """(b) and (c); an attempt whose answer did not come stays PENDING for recovery."""
        try:
            outcome = Outcome.of(await self.bank.charge(request))
        except BankUnavailable as exc:
            log.warning("no answer to charge %s (%s); recovery will finish it", doc["_id"], exc)
            return doc
        except BankRefused as exc:
            outcome = Outcome(False, reason=str(exc))
        faults.point("payment.after_charge")
        return await self.record(doc["_id"], outcome)

    async def record(self, payment_id: str, outcome: Outcome) -> Doc:
        """(c) in a transaction of its own."""
        return await self.service.transaction(lambda tx: self.record_in(tx, payment_id, outcome))

    async def record_in(self, tx: Tx, payment_id: str, outcome: Outcome) -> Doc:
        """(c) The answer, recorded once; a later copy of it changes nothing."""
        doc = await self.payments.get(payment_id, tx.session)
        if doc is None:
            raise LookupError(f"payment {payment_id} vanished")
        now = self.clock()
        if doc["status"] == P.PENDING and outcome.pending:
            return await self._await_scan(tx, doc, outcome, now)
        if doc["status"] == P.PENDING:
            new = await self._settle(tx, doc, outcome, now)
            tx.on_commit(lambda: self.settled.wake(payment_id))
            return new
        if doc["status"] == P.FAILED and outcome.captured:
            return await self._late_capture(tx, doc, outcome, now)
        return doc

    async def _await_scan(self, tx: Tx, doc: Doc, outcome: Outcome, now: datetime) -> Doc:
        """A QR charge the bank holds open: keep its code and look again later."""
        fields: Doc = {"chargeId": outcome.charge_id, "recheckAt": now + self.qr_poll}
        if outcome.qr and not doc.get("qr"):
            fields["qr"] = outcome.qr
        return await self.payments.update(doc, fields, tx.session, at=now)

    async def _settle(self, tx: Tx, doc: Doc, outcome: Outcome, now: datetime) -> Doc:
        state = await self.payments.order(doc["orderId"], tx.session)
        s = domain.settle(outcome.captured, outcome.reason, reverse_asked=state.reversed)
        fields: Doc = {"chargeId": outcome.charge_id, "errorMsg": s.error_msg}
        unset: tuple[str, ...] = ("recheckAt",)
        if outcome.unseen:
            fields["recheckAt"], unset = now + self.grace, ()
        new = await self.payments.update(
            doc, fields, tx.session, status=s.status, at=now, unset=unset
        )
        await self.payments.let_go(doc["orderId"], doc["_id"], outcome.captured, tx.session)
        effects.charged(tx, new, outcome.captured, s.error_msg, now)
        if s.refund:
            new = await self.refunder.mark_due(tx, new, now, reverse_reply=True)
        if s.reverse_done:
            effects.reply(tx, doc["orderId"], RequestType.REVERSE, SagaResponse.SUCCESS)
        return new

    async def _late_capture(self, tx: Tx, doc: Doc, outcome: Outcome, now: datetime) -> Doc:
        """The bank captured an attempt that was given up as unseen (or a QR code paid after
        it was given up): the customer was told it failed (and may have paid again), so the
        money goes back."""
        log.warning("payment %s captured after it was given up: refunding", doc["_id"])
        return await self.refunder.mark_due(
            tx, doc, now, reverse_reply=False, fields={"chargeId": outcome.charge_id}
        )

    async def wait_settled(self, payment_id: str, seconds: float) -> Doc:
        """The attempt once it is no longer PENDING, or as it is after `seconds`. Woken by
        the commit in this process; a short poll covers a reply handled by another replica."""
        event = self.settled.event(payment_id)
        deadline = asyncio.get_running_loop().time() + seconds
        try:
            while True:
                doc = await self.payments.get(payment_id)
                assert doc is not None, f"payment {payment_id} vanished"  # noqa: S101 - type narrowing, not a guard
                left = deadline - asyncio.get_running_loop().time()
                if doc["status"] != P.PENDING or left <= 0:
                    return doc
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(left, 0.5))
        finally:
            self.settled.forget(payment_id)

    # -- recovery ------------------------------------------------------------------------------
    async def recovery_loop(self, _: Service) -> None:
        while True:
            await self.recover()
            await asyncio.sleep(self.settings.recovery_interval_seconds)

    async def recover(self) -> None:
        """Bank attempts due a look (`recheckAt`): one whose answer was lost (a crash, a
        timeout: every bank attempt is due one once the longest charge could have taken has
        passed), a QR code whose callback has not come, one given up as unseen by the bank."""
        for doc in await self.payments.due_rechecks(self.clock()):
            await self._ask_bank(doc)

    async def _ask_bank(self, doc: Doc) -> None:
        try:
            outcome = Outcome.of(await self.bank.lookup(doc["_id"]))
        except (BankUnavailable, BankRefused) as exc:
            log.warning("cannot ask the bank about %s yet: %s", doc["_id"], exc)
            return
        if doc["status"] == P.PENDING or outcome.captured:
            log.info("recovering payment %s: captured=%s", doc["_id"], outcome.captured)
            await self.record(doc["_id"], outcome)
        else:
            await self._checked(doc)

    async def _checked(self, doc: Doc) -> None:
        with contextlib.suppress(StaleWrite):  # changed meanwhile: the next round looks again
            await self.payments.update(doc, {}, None, at=self.clock(), unset=("recheckAt",))
