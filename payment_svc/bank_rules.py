"""The simulated bank's rules over its books (`bank_ledger.Ledger`): charges by card, saved-card
token, SBP phone or SBP QR code; declines by card number or phone; QR codes that are paid,
declined or expire; refunds that never take more than is left of their charge.

Everything here is synchronous between reading the books and writing them, so two requests
interleaved on the event loop never both act on the same key."""

from __future__ import annotations

import asyncio
import binascii
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from payment_svc.bank_cards import CardKeys, brand_of, expired, luhn_ok
from payment_svc.bank_ledger import Ledger
from schemas.payment_http import (
    BankCallback,
    BankConfig,
    BankQr,
    BankStatus,
    CardDetails,
    CardToken,
    ChargeAnswer,
    ChargeRequest,
    QrRequest,
    RefundAnswer,
    RefundRequest,
)

QR_EXPIRED = "QR code expired"
SBP_MEMBER_ID = "100000000111"  # the receiving bank's id in SBP links

Clock = Callable[[], datetime]
Settled = Callable[[str, BankCallback], None]  # (callbackUrl, callback)


class BankError(Exception):
    """A request the bank refuses outright: nothing is recorded."""

    status = 400


class Invalid(BankError):
    pass


class UnknownQr(BankError):
    status = 404


class QrConflict(BankError):
    status = 409


def _now() -> datetime:
    return datetime.now(UTC)


def qr_payload(qr_id: str, amount: int, currency: str) -> str:
    """An SBP link in the shape of the real one, ending in a CRC-16 of the rest."""
    link = f"https://qr.nspk.ru/{qr_id}?type=02&bank={SBP_MEMBER_ID}&sum={amount}&cur={currency}"
    return f"{link}&crc={binascii.crc_hqx(link.encode(), 0xFFFF):04X}"


class Bank:
    def __init__(
        self,
        ledger: Ledger,
        config: BankConfig,
        rng: random.Random | None = None,
        clock: Clock = _now,
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.rng = rng or random.Random()  # noqa: S311 - the bank simulator's declines, not security
        self.clock = clock
        self.keys = CardKeys(ledger.secret)
        self.on_settled: Settled | None = None

    # --- saved cards -----------------------------------------------------------------------

    def tokenize(self, card: CardDetails) -> CardToken:
        digits = card.digits
        if not luhn_ok(digits):
            raise Invalid("card number is invalid")
        if expired(card.exp_month, card.exp_year, self.clock()):
            raise Invalid("card expired")
        saved = CardToken(
            token=self.keys.token(digits),
            brand=brand_of(digits),
            last4=digits[-4:],
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )
        entry = {"op": "card", **saved.to_wire(), "digitsHash": self.keys.digits_hash(digits)}
        if self.ledger.cards.get(saved.token) != entry:  # new, or a new expiry for it
            self.ledger.record(entry)
        return saved

    # --- charges ---------------------------------------------------------------------------

    def charge(self, req: ChargeRequest) -> ChargeAnswer:
        known = self.lookup(req.idempotency_key)
        if known is not None:
            return known
        given = [m for m in (req.card, req.card_token, req.sbp, req.qr) if m is not None]
        if len(given) != 1:
            raise Invalid("exactly one of card, cardToken, sbp or qr is required")
        if req.qr is not None:
            return self._open_qr(req, req.qr)
        reason = self._decline_reason(req)
        answer = ChargeAnswer(
            charge_id=f"ch_{uuid.uuid4().hex}",
            status=BankStatus.DECLINED if reason else BankStatus.SUCCEEDED,
            decline_reason=reason,
        )
        self._record_charge(req, answer)
        return answer

    def lookup(self, key: str) -> ChargeAnswer | None:
        """The charge's answer now (a QR code past its expiry is declined the first time it
        is looked at), or None when the bank never saw `key`."""
        entry = self.ledger.charges.get(key)
        if entry is None:
            return None
        answer = ChargeAnswer.model_validate(entry["answer"])
        qr = answer.qr
        if answer.status is BankStatus.PENDING and qr and self.clock() >= qr.expires_at:
            return self._settle(key, BankStatus.DECLINED, QR_EXPIRED)
        return answer

    def _decline_reason(self, req: ChargeRequest) -> str | None:
        if req.sbp is not None:
            return self.config.declines.get(req.sbp.phone)
        if req.card_token is not None:
            return self._saved_card_decline(req.card_token)
        assert req.card is not None  # noqa: S101 - type narrowing, not a guard
        card = req.card
        if not luhn_ok(card.digits):
            raise Invalid("card number is invalid")
        if reason := self.config.declines.get(card.digits):
            return reason
        return "card expired" if expired(card.exp_month, card.exp_year, self.clock()) else None

    def _saved_card_decline(self, token: str) -> str | None:
        card = self.ledger.cards.get(token)
        if card is None:
            raise Invalid("unknown card token")
        declines = self.keys.declines_by_hash(self.config.declines)
        if reason := declines.get(card["digitsHash"]):
            return reason
        return "card expired" if expired(card["expMonth"], card["expYear"], self.clock()) else None

    def _record_charge(self, req: ChargeRequest, answer: ChargeAnswer, **extra: str) -> None:
        key, at = req.idempotency_key, self.clock()
        self.ledger.record_charge(key, req.amount, req.currency, answer, at, **extra)

    # --- SBP QR codes ----------------------------------------------------------------------

    def _open_qr(self, req: ChargeRequest, qr: QrRequest) -> ChargeAnswer:
        if not qr.callback_url.startswith(("http://", "https://")):
            raise Invalid("callbackUrl must be an http(s) URL")
        qr_id = uuid.uuid4().hex.upper()
        answer = ChargeAnswer(
            charge_id=f"ch_{uuid.uuid4().hex}",
            status=BankStatus.PENDING,
            qr=BankQr(
                qr_id=qr_id,
                payload=qr_payload(qr_id, req.amount, req.currency),
                expires_at=self.clock() + timedelta(seconds=qr.ttl_seconds),
            ),
        )
        self._record_charge(req, answer, callbackUrl=qr.callback_url)
        return answer

    def pay_qr(self, qr_id: str, decline: str | None = None) -> ChargeAnswer:
        """The customer's bank app pays the code (or fails to, with `decline` as reason)."""
        key = self.ledger.qr_keys.get(qr_id)
        current = self.lookup(key) if key else None
        if key is None or current is None:
            raise UnknownQr("no QR code with this id")
        if current.status is BankStatus.SUCCEEDED:
            raise QrConflict("QR code already paid")
        if current.decline_reason == QR_EXPIRED:
            raise QrConflict(QR_EXPIRED)
        if current.status is BankStatus.DECLINED:
            raise QrConflict(f"QR code was declined: {current.decline_reason}")
        if decline:
            return self._settle(key, BankStatus.DECLINED, decline)
        return self._settle(key, BankStatus.SUCCEEDED, None)

    def _settle(self, key: str, status: BankStatus, reason: str | None) -> ChargeAnswer:
        entry = self.ledger.charges[key]
        answer = ChargeAnswer.model_validate(entry["answer"])
        answer = answer.model_copy(update={"status": status, "decline_reason": reason})
        at = self.clock()
        self.ledger.record_settlement(key, answer, at)
        callback = BankCallback(
            idempotency_key=key,
            charge_id=answer.charge_id,
            status=status,
            decline_reason=reason,
            amount=entry["amount"],
            at=at,
        )
        self._notify(entry.get("callbackUrl"), callback)
        return answer

    def _notify(self, url: str | None, callback: BankCallback) -> None:
        rate = self.config.callback_loss_rate
        lost = bool(rate) and self.rng.random() < rate
        if url and self.on_settled is not None and not lost:
            self.on_settled(url, callback)

    # --- refunds ---------------------------------------------------------------------------

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
        key, at = req.idempotency_key, self.clock()
        self.ledger.record_refund(key, req.charge_id, req.amount, answer, at)
        return answer

    # --- simulated trouble -----------------------------------------------------------------

    async def delay(self) -> None:
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)

    async def maybe_lose_answer(self) -> None:
        """Simulates an answer lost on the way back: the bank has acted, the caller times out."""
        if self.config.timeout_rate and self.rng.random() < self.config.timeout_rate:
            await asyncio.sleep(self.config.hang_seconds)
