"""Taking the customer's money and giving it back, crash-safe.

Charge: (a) one transaction stores the attempt PENDING and claims the order; (b) the bank is
called outside any transaction, with the paymentId as idempotency key; (c) one transaction
records the answer and emits its events, and applies only to a still PENDING attempt. A crash
or a lost answer between (b) and (c) leaves the attempt PENDING: the recovery loop asks the bank
what became of the key and records it through the same (c), so it is recorded once whoever
gets there first.

Refund: the saga's REVERSE only marks the payment REFUND_PENDING (in its handler's
transaction); the refund loop calls the bank with the key `<paymentId>:refund` (the bank never
refunds a key twice, nor more than was charged) and then records REFUNDED and emits its
messages in one transaction that applies only to a payment still REFUND_PENDING.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from pymongo.errors import DuplicateKeyError

from payment_svc import domain, effects
from payment_svc.adapters import BankApi, BankRefused, BankUnavailable
from payment_svc.repository import Payments
from payment_svc.settings import PaymentSettings
from schemas.payment_http import BankStatus, ChargeAnswer, ChargeRequest, RefundRequest
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
class BankOutcome:
    captured: bool
    charge_id: str | None = None
    reason: str | None = None
    unseen: bool = False  # the bank never saw the key: check again later, the call may land

    @classmethod
    def of(cls, answer: ChargeAnswer | None) -> BankOutcome:
        if answer is None:
            return cls(False, reason=domain.NOT_AT_BANK, unseen=True)
        ok = answer.status is BankStatus.SUCCEEDED
        return cls(ok, answer.charge_id, None if ok else answer.decline_reason or "declined")


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
        self._refunds_due = asyncio.Event()

    def refunds_due(self) -> None:
        """A refund was marked due (and committed): make it now, not at the next poll."""
        self._refunds_due.set()

    # -- charge --------------------------------------------------------------------------------
    async def open(self, attempt: domain.Attempt, order_status: str) -> Doc:
        """(a) The new attempt, PENDING and holding the order; or the attempt this customer
        already made with this Idempotency-Key."""
        await self.payments.open_order(attempt.order_id)

        async def run(tx: Tx) -> Doc:
            earlier = await self.payments.by_key(attempt.username, attempt.idem_key, tx.session)
            if earlier is not None:  # the same request, sent again while the first runs
                return earlier
            state = await self.payments.order(attempt.order_id, tx.session)
            domain.check_payable(order_status, attempt.amount, state)
            if not await self.payments.claim(attempt.order_id, attempt.payment_id, tx.session):
                raise StaleWrite(f"order {attempt.order_id} claimed concurrently")
            return await self.payments.insert(attempt, tx.session)

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
            outcome = BankOutcome.of(await self.bank.charge(request))
        except BankUnavailable as exc:
            log.warning("no answer to charge %s (%s); recovery will finish it", doc["_id"], exc)
            return doc
        except BankRefused as exc:
            outcome = BankOutcome(False, reason=str(exc))
        faults.point("payment.after_charge")
        return await self.record(doc["_id"], outcome)

    async def record(self, payment_id: str, outcome: BankOutcome) -> Doc:
        """(c) The bank's answer, recorded once; a later copy of it changes nothing."""

        async def run(tx: Tx) -> Doc:
            doc = await self.payments.get(payment_id, tx.session)
            if doc is None:
                raise LookupError(f"payment {payment_id} vanished")
            now = self.clock()
            if doc["status"] == P.PENDING:
                return await self._settle(tx, doc, outcome, now)
            if doc["status"] == P.FAILED and outcome.captured:
                return await self._late_capture(tx, doc, outcome, now)
            return doc

        return await self.service.transaction(run)

    async def _settle(self, tx: Tx, doc: Doc, outcome: BankOutcome, now: datetime) -> Doc:
        state = await self.payments.order(doc["orderId"], tx.session)
        s = domain.settle(outcome.captured, outcome.reason, reverse_asked=state.reversed)
        fields: Doc = {"chargeId": outcome.charge_id, "errorMsg": s.error_msg}
        if outcome.unseen:
            fields["recheckAt"] = now + self.grace
        new = await self.payments.update(doc, fields, tx.session, status=s.status, at=now)
        await self.payments.let_go(doc["orderId"], doc["_id"], outcome.captured, tx.session)
        effects.charged(tx, new, outcome.captured, s.error_msg, now)
        if s.refund:
            refund = {"reverseReply": True, "refundDueAt": now}
            new = await self.payments.update(
                new, refund, tx.session, status=P.REFUND_PENDING, at=now
            )
        if s.reverse_done:
            effects.reply(tx, doc["orderId"], RequestType.REVERSE, SagaResponse.SUCCESS)
        return new

    async def _late_capture(self, tx: Tx, doc: Doc, outcome: BankOutcome, now: datetime) -> Doc:
        """The bank captured an attempt that was given up as unseen: the customer was told it
        failed (and may have paid again), so the money goes back."""
        log.warning("payment %s captured after it was given up: refunding", doc["_id"])
        fields = {"chargeId": outcome.charge_id, "refundDueAt": now, "reverseReply": False}
        return await self.payments.update(
            doc, fields, tx.session, status=P.REFUND_PENDING, at=now, unset=("recheckAt",)
        )

    # -- recovery ------------------------------------------------------------------------------
    async def recovery_loop(self, _: Service) -> None:
        while True:
            await self.recover()
            await asyncio.sleep(self.settings.recovery_interval_seconds)

    async def recover(self) -> None:
        """Attempts whose bank answer was lost (a crash, a timeout), and attempts given up as
        unseen by the bank that are due a second look."""
        now = self.clock()
        for doc in await self.payments.stale_pending(now - self.grace):
            await self._ask_bank(doc)
        for doc in await self.payments.due_rechecks(now):
            await self._ask_bank(doc)

    async def _ask_bank(self, doc: Doc) -> None:
        try:
            outcome = BankOutcome.of(await self.bank.lookup(doc["_id"]))
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

    # -- refund --------------------------------------------------------------------------------
    async def refund_loop(self, _: Service) -> None:
        """Refunds that are due: woken when a REVERSE marks one, and every interval for the
        ones put off (bank away) or marked before a crash."""
        while True:
            self._refunds_due.clear()
            for doc in await self.payments.due_refunds(self.clock()):
                await self.refund(doc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._refunds_due.wait(), self.settings.refund_interval_seconds
                )

    async def refund(self, doc: Doc) -> None:
        request = RefundRequest(
            idempotency_key=f"{doc['_id']}:refund", charge_id=doc["chargeId"], amount=doc["amount"]
        )
        try:
            answer = await self.bank.refund(request)
        except (BankUnavailable, BankRefused) as exc:
            log.warning("refund of %s not done yet: %s", doc["_id"], exc)
            return await self._later(doc)
        if answer.status is not BankStatus.SUCCEEDED:
            log.error("the bank declined refund of %s: %s", doc["_id"], answer.decline_reason)
            return await self._later(doc)
        faults.point("payment.after_refund")
        await self.service.transaction(
            partial(self._refunded, payment_id=doc["_id"], refund_id=answer.refund_id)
        )

    async def _refunded(self, tx: Tx, *, payment_id: str, refund_id: str) -> None:
        doc = await self.payments.get(payment_id, tx.session)
        if doc is None or doc["status"] != P.REFUND_PENDING:
            return
        now = self.clock()
        fields = {"refundId": refund_id, "refundedAt": now}
        new = await self.payments.update(
            doc, fields, tx.session, status=P.REFUNDED, at=now, unset=("refundDueAt",)
        )
        effects.refunded(tx, new, now)

    async def _later(self, doc: Doc) -> None:
        backoff = min(2 ** doc.get("refundAttempts", 0), 60)
        await self.payments.postpone_refund(doc, self.clock() + timedelta(seconds=backoff))
