"""Gift-card numbers and activation codes, and how many wrong codes a user may try.

Pure (randomness comes from `secrets`). Only a code's SHA-256 is ever stored: the code itself
leaves billing once, in the e-mail to the donee.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# no 0/O, 1/I/L: a code typed from an e-mail cannot be misread
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16
GROUP = 4
NUMBER_DIGITS = 12
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def grouped(text: str, sep: str = "-") -> str:
    return sep.join(text[i : i + GROUP] for i in range(0, len(text), GROUP))


def new_activation_code() -> str:
    """16 random characters of the unambiguous alphabet, shown as XXXX-XXXX-XXXX-XXXX."""
    return grouped("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))


def new_card_number() -> str:
    """The printed number: GC- and 12 random digits in groups of four."""
    digits = "".join(secrets.choice("0123456789") for _ in range(NUMBER_DIGITS))
    return "GC-" + grouped(digits)


def normalize(code: str) -> str:
    """What the donee typed, as it was issued: no spaces or dashes, upper case."""
    return "".join(ch for ch in code if ch not in " -\t").upper()


def code_hash(code: str) -> str:
    """The stored form of an activation code (as typed or as issued)."""
    return hashlib.sha256(normalize(code).encode()).hexdigest()


@dataclass(frozen=True)
class AttemptWindow:
    """At most `limit` activation attempts per user in each fixed window of `length` (the
    attempt is counted before its code is checked: see gift_cards.ActivationAttempts)."""

    limit: int
    length: timedelta

    def bucket(self, now: datetime) -> int:
        """The number of the window `now` falls in."""
        return int((now - EPOCH) // self.length)

    def ends(self, now: datetime) -> datetime:
        return EPOCH + self.length * (self.bucket(now) + 1)

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the next window opens (at least 1)."""
        return max(1, math.ceil((self.ends(now) - now).total_seconds()))
