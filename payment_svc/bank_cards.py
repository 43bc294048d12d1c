"""The simulated bank's card rules (pure): the Luhn check, expiry, the brand from the first
digits, and the keyed hash that stands for a card number wherever the bank remembers one.

A saved card's token is derived from its number under the bank's own secret, so the same card
saved twice gets the same token, yet neither the token nor the ledger file gives the number
back; a decline configured by card number is matched by hashing that number the same way."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

TOKEN_PREFIX = "tok_"  # noqa: S105 - the card tokens' public prefix, not a secret
TOKEN_HASH_CHARS = 24

DEFAULT_DECLINES = {
    "4000000000000002": "insufficient funds",
    "4000000000000069": "card expired",
    "4000000000000119": "processing error",
}
"""Test card numbers the bank declines unless configured otherwise."""


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def expired(exp_month: int, exp_year: int, now: datetime) -> bool:
    """A card is good through the last day of its expiry month."""
    return (exp_year, exp_month) < (now.year, now.month)


def brand_of(digits: str) -> str:
    first4 = int(digits[:4])
    if digits.startswith("4"):
        return "VISA"
    if 5100 <= first4 <= 5599 or 2221 <= first4 <= 2720:
        return "MASTERCARD"
    if 2200 <= first4 <= 2204:
        return "MIR"
    return "CARD"


class CardKeys:
    """Keyed hashes of card numbers under the bank's secret."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def digits_hash(self, digits: str) -> str:
        return hmac.new(self._secret, digits.encode(), hashlib.sha256).hexdigest()

    def token(self, digits: str) -> str:
        return TOKEN_PREFIX + self.digits_hash(digits)[:TOKEN_HASH_CHARS]

    def declines_by_hash(self, declines: dict[str, str]) -> dict[str, str]:
        """The configured declines keyed by the hash of each card number among them (SBP
        phones, which start with `+`, never match a card)."""
        return {self.digits_hash(k): reason for k, reason in declines.items() if k.isdigit()}
