"""The simulated bank's books (served by `payment_svc.bank_sim`): every charge, QR settlement,
refund and saved card in an append-only JSON-lines file reloaded at start, so the same key
always gets the same answer, even across restarts.

Lines (`op`): `secret` (the bank's own key for card hashes, written once), `card` (a saved
card: token, last four digits, brand, expiry and the keyed hash of the number — never the
number), `charge`, `settle` (a QR charge paid, declined or expired) and `refund`."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from schemas.payment_http import BankStatus, ChargeAnswer, LedgerTotals, RefundAnswer


class Ledger:
    """The bank's books by key, appended to `path` one JSON line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.secret = ""
        self.charges: dict[str, dict[str, Any]] = {}  # idempotency key -> the charge
        self.refunds: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, dict[str, Any]] = {}  # token -> the saved card
        self.charge_keys: dict[str, str] = {}  # chargeId -> idempotency key
        self.qr_keys: dict[str, str] = {}  # qrId -> idempotency key
        self.refunded: dict[str, int] = {}  # chargeId -> amount refunded so far
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            for line in path.read_text().splitlines():
                with contextlib.suppress(ValueError, KeyError):  # a line torn by a kill
                    self._apply(json.loads(line))
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if not self.secret:
            self.record({"op": "secret", "secret": secrets.token_hex(32)})

    def _apply(self, entry: dict[str, Any]) -> None:
        op = entry["op"]
        if op == "charge":
            self._apply_charge(entry)
        elif op == "settle":
            known = self.charges[entry["key"]]
            self.charges[entry["key"]] = {**known, "answer": entry["answer"]}
        elif op == "refund":
            self._apply_refund(entry)
        elif op == "card":
            self.cards[entry["token"]] = entry
        elif op == "secret":
            self.secret = entry["secret"]

    def _apply_charge(self, entry: dict[str, Any]) -> None:
        answer = entry["answer"]
        self.charges[entry["key"]] = entry
        self.charge_keys[answer["chargeId"]] = entry["key"]
        if "qr" in answer:
            self.qr_keys[answer["qr"]["qrId"]] = entry["key"]

    def _apply_refund(self, entry: dict[str, Any]) -> None:
        self.refunds[entry["key"]] = entry
        if entry["answer"]["status"] == BankStatus.SUCCEEDED:
            charge = entry["chargeId"]
            self.refunded[charge] = self.refunded.get(charge, 0) + entry["amount"]

    def record(self, entry: dict[str, Any]) -> None:
        # one write() of one line under O_APPEND: a kill leaves at most a torn last line
        os.write(self._fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
        self._apply(entry)

    def record_charge(
        self, key: str, amount: int, currency: str, answer: ChargeAnswer, at: datetime, **extra: str
    ) -> None:
        self.record(
            {
                "op": "charge",
                "key": key,
                "amount": amount,
                "currency": currency,
                "answer": answer.to_wire(),
                "at": at.isoformat(),
                **extra,
            }
        )

    def record_settlement(self, key: str, answer: ChargeAnswer, at: datetime) -> None:
        self.record({"op": "settle", "key": key, "answer": answer.to_wire(), "at": at.isoformat()})

    def record_refund(
        self, key: str, charge_id: str, amount: int, answer: RefundAnswer, at: datetime
    ) -> None:
        entry = {"op": "refund", "key": key, "chargeId": charge_id, "amount": amount}
        self.record({**entry, "answer": answer.to_wire(), "at": at.isoformat()})

    def charge_by_id(self, charge_id: str) -> dict[str, Any] | None:
        key = self.charge_keys.get(charge_id)
        return self.charges[key] if key else None

    def totals(self) -> LedgerTotals:
        """Money moved: a QR charge counts as captured only once it is paid, and a pending
        one counts neither as captured nor as declined."""
        ok = [c for c in self.charges.values() if c["answer"]["status"] == BankStatus.SUCCEEDED]
        declined = [
            c for c in self.charges.values() if c["answer"]["status"] == BankStatus.DECLINED
        ]
        refunds = [
            r for r in self.refunds.values() if r["answer"]["status"] == BankStatus.SUCCEEDED
        ]
        return LedgerTotals(
            captured=sum(c["amount"] for c in ok),
            refunded=sum(r["amount"] for r in refunds),
            charges=len(ok),
            declined=len(declined),
            refunds=len(refunds),
        )

    def close(self) -> None:
        os.close(self._fd)
