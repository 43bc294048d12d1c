"""Pure rules of accounts: normalising contacts, the password policy, the login throttle,
one-time codes. No I/O here."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email

from servicekit.errors import Conflict, DomainError, InvalidRequest, TooManyRequests, Unauthorized

CUSTOMER, ADMIN = "customer", "admin"
USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{3,64}$")
MIN_PASSWORD, MAX_PASSWORD = 8, 128


class UserExists(Conflict):
    def __init__(self) -> None:
        super().__init__("User already exists")


class BadCredentials(Unauthorized):
    def __init__(self) -> None:
        super().__init__("Invalid login/password")


class AccountBlocked(DomainError):
    status = 403

    def __init__(self) -> None:
        super().__init__("Account is blocked")


def normalize_email(raw: str) -> str:
    """Lower-cased, validated e-mail (one account per address, whatever its case)."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidRequest(f"invalid email: {exc}") from exc
    return checked.normalized.lower()


def normalize_phone(raw: str) -> str:
    """E.164-like `+<digits>`; a Russian number written 8 + 10 digits becomes +7 + 10 digits."""
    digits = re.sub(r"[\s()\-.]", "", raw.strip())
    if re.fullmatch(r"8\d{10}", digits):
        digits = "+7" + digits[1:]
    if not digits.startswith("+"):
        digits = "+" + digits
    if not re.fullmatch(r"\+\d{10,15}", digits):
        raise InvalidRequest("invalid phone: expected 10 to 15 digits, e.g. +79991234567")
    return digits


def contact_key(raw: str) -> str:
    """The same key for every spelling of one e-mail or phone (for throttling, before the
    contact is validated): a lower-cased e-mail, or a phone's digits with 8... as 7..."""
    if "@" in raw:
        return raw.strip().lower()
    digits = re.sub(r"\D", "", raw)
    return "7" + digits[1:] if re.fullmatch(r"8\d{10}", digits) else digits


def check_username(raw: str) -> str:
    if not USERNAME.fullmatch(raw):
        raise InvalidRequest("invalid username: 3-64 letters, digits or . _ @ + -")
    return raw


def check_password(raw: str) -> str:
    if not MIN_PASSWORD <= len(raw) <= MAX_PASSWORD:
        raise InvalidRequest(f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    if raw.isdigit() or raw.isalpha():
        raise InvalidRequest("password must mix letters with digits or symbols")
    return raw


def check_name(raw: str | None, field: str) -> str:
    value = (raw or "").strip()
    if not value or len(value) > 100:
        raise InvalidRequest(f"{field} should be provided (at most 100 characters)")
    return value


def new_secret() -> str:
    """A session id or reset token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_code() -> str:
    """A 6-digit verification code."""
    return f"{secrets.randbelow(1_000_000):06d}"


def digest(secret: str) -> str:
    """What we store instead of a session id, token or code: its SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(secret: str, stored: str) -> bool:
    return hmac.compare_digest(digest(secret), stored)


@dataclass(frozen=True)
class Throttle:
    """`free` attempts per key, then each further one waits `delay`, doubled per attempt past
    the free ones up to `max_delay`: slows a guesser down without locking anyone out for good.
    The count is taken before the attempt is tried, so parallel attempts cannot all pass."""

    message: str
    free: int
    delay: timedelta
    max_delay: timedelta

    def wait(self, count: int, last: datetime | None, now: datetime) -> timedelta:
        """How long the next attempt must still wait after `count` counted ones."""
        if count < self.free or last is None:
            return timedelta(0)
        step = min(self.delay * 2 ** min(count - self.free, 20), self.max_delay)
        return max(timedelta(0), last + step - now)

    def refuse(self, wait: timedelta) -> TooManyRequests:
        return TooManyRequests(self.message, retry_after=max(1, math.ceil(wait.total_seconds())))


def is_loopback(host: str) -> bool:
    """`host` is this machine: an address or a Host header, with or without a port."""
    name = host.strip()
    if name.startswith("["):
        name = name[1:].split("]")[0]
    elif name.count(":") == 1:
        name = name.split(":")[0]
    return name in ("localhost", "::1") or name.startswith("127.")


def looks_like_contact(username: str) -> bool:
    """A username that reads as an e-mail or a phone could be mistaken for (or squat) someone
    else's login identifier: logins try e-mail and phone by shape."""
    if "@" in username:
        return True
    try:
        normalize_phone(username)
    except InvalidRequest:
        return False
    return True


# OWASP's argon2id minimums (memory KiB, time cost): any one pair is enough
ARGON2_FLOORS = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))


def argon2_floor(time_cost: int, memory_kib: int) -> tuple[int, int]:
    """The configured cost if it meets one of OWASP's minimums, else the nearest minimum
    (19 MiB, 2 passes) with the configured values where they are higher."""
    if any(memory_kib >= m and time_cost >= t for m, t in ARGON2_FLOORS):
        return time_cost, memory_kib
    return max(time_cost, 2), max(memory_kib, 19456)
