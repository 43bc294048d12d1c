"""The bank's callback signature: `X-Bank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` of
`"<t>.<body>"` under the webhook secret the bank and the shop share.

The timestamp is inside what is signed, so a captured callback cannot be replayed with a fresh
`t`; the tolerance bounds how long an old one stays acceptable. The bank signs
(`payment_svc.bank_sim`), payment_svc's `POST /bank/callbacks` verifies.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Bank-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def _digest(secret: str, body: bytes, at: int) -> str:
    signed = f"{at}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, at: int) -> str:
    """The header value for `body` sent at unix time `at`."""
    if not secret:
        raise ValueError("a signature under an empty secret proves nothing")
    return f"t={at},v1={_digest(secret, body, at)}"


def _parse(header: str) -> tuple[int, list[str]] | None:
    """(t, the v1 signatures) or None when the header is not in the expected shape."""
    at: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or not value:
            return None
        if name == "t":
            if not value.isdigit():
                return None
            at = int(value)
        elif name == "v1":
            signatures.append(value)
    if at is None or not signatures:
        return None
    return at, signatures


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether `header` signs exactly `body` under `secret`, at most `tolerance` seconds away
    from `now`. False for an empty secret, a missing or garbled header, a wrong signature or a
    timestamp out of range."""
    if not secret or not header:
        return False
    parsed = _parse(header)
    if parsed is None:
        return False
    at, signatures = parsed
    if abs(now - at) > tolerance:
        return False
    expected = _digest(secret, body, at).encode()
    # bytes, because compare_digest raises on a str with non-ASCII characters; every candidate
    # is compared so the time taken does not tell which one came close
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in signatures]
    return any(matches)
