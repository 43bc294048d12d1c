"""Pure rules of accounts: normalising contacts, the password policy, the login throttle,
one-time codes. No I/O here."""

from __future__ import annotations

import hashlib
import hmac
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
    """At most `limit` failures per key within `window`; past that, refuse until the oldest
    failure in the window leaves it."""

    limit: int
    window: timedelta

    def check(self, failures: list[datetime], now: datetime) -> None:
        recent = sorted(t for t in failures if t > now - self.window)
        if len(recent) >= self.limit:
            oldest_that_counts = recent[-self.limit]
            retry = oldest_that_counts + self.window - now
            raise TooManyRequests(
                "Too many failed login attempts; try again later",
                retry_after=max(1, int(retry.total_seconds()) + 1),
            )
