"""Giving money back, crash-safe, always to the means that paid.

A full refund (the saga's REVERSE, a cancelled order, a capture that came too late) marks the
payment REFUND_PENDING in the transaction that decides it; an admin's partial refund
(`POST /refunds`) is a refund document, PENDING, whose amount is reserved on the payment in
the same transaction (so refunds never exceed what was captured). The refund loop then gives
each back:
- paid by the bank (card, SBP): the bank is called with the refund's own idempotency key
  (`<paymentId>:refund` or the refund's id), then one transaction records it done, only if it
  is still pending; the bank never refunds a key twice nor more than was charged;
- paid from a ledger account (wallet, gift card): one transaction asks billing for the credit
  (outbox) and stops the loop from asking again; billing's reply records it done.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from payment_svc import domain, effects
from payment_svc.adapters import BankApi, BankRefused, BankUnavailable
from payment_svc.refund_book import RefundBook
from payment_svc.repository import Payments
from payment_svc.settings import PaymentSettings
from schemas.billing import EntryReason, LedgerOp
from schemas.payment_http import BankStatus, RefundRequest
from schemas.payment_http import PaymentState as P
from schemas.payment_http import RefundState as R
from servicekit import faults
from servicekit.mongo import Doc
from servicekit.retry import is_db_unavailable
from servicekit.service import Service
from servicekit.sweeps import BACKSTOP, Pace, soonest
from servicekit.unit import Tx

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def full_refund_key(payment_id: str) -> str:
    return f"{payment_id}:refund"


class Refunder:
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
        self.book = RefundBook(service.db)
        self.bank = bank
        self.clock = clock
        # every refund made due in this process wakes the loop (mark_due, the admin's refund)
        # and one put off is read back with its due time; only a replica that is not the
        # loop's holder cannot wake it, so with replicas it still looks every interval
        longest = settings.refund_interval_seconds if settings.replicas > 1 else BACKSTOP
        self.pace = Pace(settings.refund_interval_seconds, longest, clock)

    def wake(self) -> None:
        """A refund was marked due (and committed): make it now, not at the next poll."""
        self.pace.wake()

    async def mark_due(
        self, tx: Tx, doc: Doc, now: datetime, reverse_reply: bool, fields: Doc | None = None
    ) -> Doc:
        """The whole (rest of the) payment goes back; `reverse_reply`: the saga waits for it."""
        due = {**(fields or {}), "reverseReply": reverse_reply, "refundDueAt": now}
        new = await self.payments.update(
            doc, due, tx.session, status=P.REFUND_PENDING, at=now, unset=("recheckAt",)
        )
        tx.on_commit(self.wake)
        return new

    # -- the loop ------------------------------------------------------------------------------
    async def refund_loop(self, _: Service) -> None:
        """Refunds that are due: woken when one is marked, at the due time of the earliest one
        put off (bank away), and at start for those marked before a crash (servicekit.sweeps)."""
        while True:
            now = self.clock()
            for doc in await self.payments.due_refunds(now):
                await self._one(self.refund_payment, doc)
            for ref in await self.book.due(now):
                await self._one(self.refund_part, ref)
            await self.pace.sleep(
                soonest(await self.payments.next_refund_due(), await self.book.next_due())
            )

    async def _one(self, refund: Callable[[Doc], Awaitable[None]], doc: Doc) -> None:
        """One refund; a failure is logged and retried next round without holding up the
        others (a database that is away fails them all, and the loop is restarted)."""
        try:
            await refund(doc)
        except Exception as exc:
            if is_db_unavailable(exc):
                raise
            log.exception("refund of %s failed; trying again later", doc["_id"])

    # -- a whole payment -----------------------------------------------------------------------
    async def refund_payment(self, doc: Doc) -> None:
        amount = domain.rest_to_refund(doc["amount"], doc.get("refundReserved", 0))
        key = full_refund_key(doc["_id"])
        if amount == 0:  # admin refunds gave everything back already
            await self.service.transaction(lambda tx: self.payment_refunded(tx, doc["_id"], 0))
        elif doc.get("via") == domain.Via.BILLING:
            await self.service.transaction(lambda tx: self._ask_billing_whole(tx, doc["_id"]))
        elif await self._bank_refund(key, doc, amount):
            faults.point("payment.after_refund")
            await self.service.transaction(lambda tx: self.payment_refunded(tx, doc["_id"], amount))
        else:
            await self.payments.postpone_refund(doc, self._backoff(doc.get("refundAttempts", 0)))

    async def _ask_billing_whole(self, tx: Tx, payment_id: str) -> None:
        doc = await self.payments.get(payment_id, tx.session)
        if doc is None or doc["status"] != P.REFUND_PENDING or "refundDueAt" not in doc:
            return
        amount = domain.rest_to_refund(doc["amount"], doc.get("refundReserved", 0))
        now = self.clock()
        new = await self.payments.update(
            doc, {"refundAskedAt": now}, tx.session, at=now, unset=("refundDueAt",)
        )
        effects.billing(
            tx, new, LedgerOp.CREDIT, EntryReason.REFUND, full_refund_key(payment_id), amount
        )

    async def payment_refunded(self, tx: Tx, payment_id: str, amount: int) -> None:
        """The rest of the payment is back with the payer: REFUNDED, once."""
        doc = await self.payments.get(payment_id, tx.session)
        if doc is None or doc["status"] != P.REFUND_PENDING:
            return
        now = self.clock()
        fields = {"refundedAt": now, "refunded": doc.get("refunded", 0) + amount}
        new = await self.payments.update(
            doc, fields, tx.session, status=P.REFUNDED, at=now, unset=("refundDueAt",)
        )
        effects.refunded(tx, new, now, amount)

    # -- part of a payment (admin) -------------------------------------------------------------
    async def refund_part(self, ref: Doc) -> None:
        if ref["via"] == domain.Via.BILLING:
            await self.service.transaction(lambda tx: self._ask_billing_part(tx, ref["_id"]))
        elif await self._bank_refund(ref["_id"], ref, ref["amount"]):
            await self.service.transaction(lambda tx: self.part_refunded(tx, ref["_id"]))
        else:
            await self.book.postpone(ref, self._backoff(ref.get("attempts", 0)))

    async def _ask_billing_part(self, tx: Tx, refund_id: str) -> None:
        ref = await self.book.get(refund_id, tx.session)
        if ref is None or ref["status"] != R.PENDING or ref.get("dueAt") is None:
            return
        doc = await self.payments.get(ref["paymentId"], tx.session)
        assert doc is not None, f"refund {refund_id} of an unknown payment"  # noqa: S101 - type narrowing, not a guard
        await self.book.asked(ref, self.clock(), tx.session)
        effects.billing(tx, doc, LedgerOp.CREDIT, EntryReason.REFUND, refund_id, ref["amount"])

    async def part_refunded(self, tx: Tx, refund_id: str) -> None:
        """An admin refund is back with the payer: SUCCEEDED, counted on the payment, once."""
        ref = await self.book.get(refund_id, tx.session)
        if ref is None or ref["status"] != R.PENDING:
            return
        now = self.clock()
        await self.book.done(ref, now, tx.session)
        doc = await self.payments.get(ref["paymentId"], tx.session)
        assert doc is not None, f"refund {refund_id} of an unknown payment"  # noqa: S101 - type narrowing, not a guard
        new = await self.payments.update(
            doc, {"refunded": doc.get("refunded", 0) + ref["amount"]}, tx.session, at=now
        )
        effects.notify(
            tx,
            new,
            effects.PaymentRequestType.REVERSE,
            True,
            None,
            now,
            ref["amount"],
            ref["reason"],
        )

    # -- the bank ------------------------------------------------------------------------------
    async def _bank_refund(self, key: str, doc: Doc, amount: int) -> bool:
        """Whether the bank has given `amount` back under `key` (now or before)."""
        request = RefundRequest(idempotency_key=key, charge_id=doc["chargeId"], amount=amount)
        try:
            answer = await self.bank.refund(request)
        except (BankUnavailable, BankRefused) as exc:
            log.warning("refund %s not done yet: %s", key, exc)
            return False
        if answer.status is not BankStatus.SUCCEEDED:
            log.error("the bank declined refund %s: %s", key, answer.decline_reason)
            return False
        return True

    def _backoff(self, attempts: int) -> datetime:
        return self.clock() + timedelta(seconds=min(2**attempts, 60))
