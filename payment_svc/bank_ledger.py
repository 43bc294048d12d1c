"""The simulated bank's books and rules (served by `payment_svc.bank_sim`): every charge and
refund by idempotency key, in an append-only JSON-lines file reloaded at start, so the same
key always gets the same answer, even across restarts; declines by card number or SBP phone;
a refund never takes more than is left of its charge."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.payment_http import (
    BankConfig,
    BankStatus,
    CardDetails,
    ChargeAnswer,
    ChargeRequest,
    LedgerTotals,
    RefundAnswer,
    RefundRequest,
)

DEFAULT_DECLINES = {
    "4000000000000002": "insufficient funds",
    "4000000000000069": "card expired",
    "4000000000000119": "processing error",
}


class Invalid(Exception):
    """A request the bank refuses outright (400): nothing is recorded."""


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def expired(card: CardDetails, now: datetime) -> bool:
    return (card.exp_year, card.exp_month) < (now.year, now.month)


class Ledger:
    """Charges and refunds by idempotency key, appended to `path` one JSON line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.charge_keys: dict[str, str] = {}  # chargeId -> idempotency key
        self.refunded: dict[str, int] = {}  # chargeId -> amount refunded so far
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            for line in path.read_text().splitlines():
                with contextlib.suppress(ValueError):  # a line torn by a kill mid-write
                    self._apply(json.loads(line))
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _apply(self, entry: dict[str, Any]) -> None:
        answer = entry["answer"]
        if entry["op"] == "charge":
            self.charges[entry["key"]] = entry
            self.charge_keys[answer["chargeId"]] = entry["key"]
        else:
            self.refunds[entry["key"]] = entry
            if answer["status"] == BankStatus.SUCCEEDED:
                charge = entry["chargeId"]
                self.refunded[charge] = self.refunded.get(charge, 0) + entry["amount"]

    def record(self, entry: dict[str, Any]) -> None:
        os.write(self._fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
        self._apply(entry)

    def charge_by_id(self, charge_id: str) -> dict[str, Any] | None:
        key = self.charge_keys.get(charge_id)
        return self.charges[key] if key else None

    def totals(self) -> LedgerTotals:
        ok = [c for c in self.charges.values() if c["answer"]["status"] == BankStatus.SUCCEEDED]
        refunds = [
            r for r in self.refunds.values() if r["answer"]["status"] == BankStatus.SUCCEEDED
        ]
        return LedgerTotals(
            captured=sum(c["amount"] for c in ok),
            refunded=sum(r["amount"] for r in refunds),
            charges=len(ok),
            declined=len(self.charges) - len(ok),
            refunds=len(refunds),
        )

    def close(self) -> None:
        os.close(self._fd)


class Bank:
    def __init__(self, ledger: Ledger, config: BankConfig, rng: random.Random | None = None):
        self.ledger = ledger
        self.config = config
        self.rng = rng or random.Random()

    def charge(self, req: ChargeRequest) -> ChargeAnswer:
        known = self.ledger.charges.get(req.idempotency_key)
        if known is not None:
            return ChargeAnswer.model_validate(known["answer"])
        reason = self._decline_reason(req)
        answer = ChargeAnswer(
            charge_id=f"ch_{uuid.uuid4().hex}",
            status=BankStatus.DECLINED if reason else BankStatus.SUCCEEDED,
            decline_reason=reason,
        )
        self.ledger.record(
            {
                "op": "charge",
                "key": req.idempotency_key,
                "amount": req.amount,
                "currency": req.currency,
                "answer": answer.to_wire(),
                "at": datetime.now(UTC).isoformat(),
            }
        )
        return answer

    def _decline_reason(self, req: ChargeRequest) -> str | None:
        if (req.card is None) == (req.sbp is None):
            raise Invalid("exactly one of card or sbp is required")
        if req.sbp is not None:
            return self.config.declines.get(req.sbp.phone)
        assert req.card is not None
        if not luhn_ok(req.card.digits):
            raise Invalid("card number is invalid")
        if reason := self.config.declines.get(req.card.digits):
            return reason
        return "card expired" if expired(req.card, datetime.now(UTC)) else None

    def refund(self, req: RefundRequest) -> RefundAnswer | None:
        """The refund's answer, or None when the charge is unknown."""
        known = self.ledger.refunds.get(req.idempotency_key)
        if known is not None:
            return RefundAnswer.model_validate(known["answer"])
        charge = self.ledger.charge_by_id(req.charge_id)
        if charge is None:
            return None
        left = charge["amount"] - self.ledger.refunded.get(req.charge_id, 0)
        reason = None
        if charge["answer"]["status"] != BankStatus.SUCCEEDED:
            reason = "the charge was not captured"
        elif req.amount > left:
            reason = f"refund exceeds what is left of the charge ({left})"
        answer = RefundAnswer(
            refund_id=f"re_{uuid.uuid4().hex}",
            status=BankStatus.DECLINED if reason else BankStatus.SUCCEEDED,
            decline_reason=reason,
        )
        self.ledger.record(
            {
                "op": "refund",
                "key": req.idempotency_key,
                "chargeId": req.charge_id,
                "amount": req.amount,
                "answer": answer.to_wire(),
                "at": datetime.now(UTC).isoformat(),
            }
        )
        return answer

    async def delay(self) -> None:
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)

    async def maybe_lose_answer(self) -> None:
        """Simulates an answer lost on the way back: the bank has acted, the caller times out."""
        if self.config.timeout_rate and self.rng.random() < self.config.timeout_rate:
            await asyncio.sleep(self.config.hang_seconds)
