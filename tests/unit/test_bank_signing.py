"""The bank's callback signature: what payment_svc.signing accepts and what it rejects."""

from __future__ import annotations

import pytest

from payment_svc.signing import sign, verify

SECRET = "a-shared-webhook-secret"
BODY = b'{"idempotencyKey":"pay-1","status":"succeeded","amount":2500}'
AT = 1_790_000_000


def test_a_body_signed_with_the_shared_secret_verifies():
    header = sign(SECRET, BODY, AT)
    assert header.startswith(f"t={AT},v1=")
    assert verify(SECRET, header, BODY, now=AT + 10)


def test_a_tampered_body_is_rejected():
    header = sign(SECRET, BODY, AT)
    tampered = BODY.replace(b"2500", b"250000")
    assert not verify(SECRET, header, tampered, now=AT)


def test_a_signature_under_another_secret_is_rejected():
    header = sign("someone-else", BODY, AT)
    assert not verify(SECRET, header, BODY, now=AT)


def test_a_timestamp_outside_the_tolerance_is_rejected_either_way():
    header = sign(SECRET, BODY, AT)
    assert verify(SECRET, header, BODY, now=AT + 300)
    assert not verify(SECRET, header, BODY, now=AT + 301)
    assert not verify(SECRET, header, BODY, now=AT - 301)
    assert verify(SECRET, header, BODY, now=AT + 900, tolerance=900)


def test_a_replayed_signature_with_a_fresh_timestamp_is_rejected():
    signature = sign(SECRET, BODY, AT).split(",v1=")[1]
    assert not verify(SECRET, f"t={AT + 1000},v1={signature}", BODY, now=AT + 1000)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "t=,v1=",
        f"t={AT}",
        "v1=abcdef",
        f"t=soon,v1={'0' * 64}",
        f"t={AT},v1=ключ",
        f"t={AT},,v1={'0' * 64}",
    ],
)
def test_a_missing_or_garbled_header_is_rejected(header: str | None):
    assert not verify(SECRET, header, BODY, now=AT)


def test_with_an_empty_secret_nothing_verifies_and_nothing_is_signed():
    assert not verify("", sign(SECRET, BODY, AT), BODY, now=AT)
    with pytest.raises(ValueError):
        sign("", BODY, AT)


def test_one_right_signature_among_several_is_enough():
    right = sign(SECRET, BODY, AT).split(",v1=")[1]
    assert verify(SECRET, f"t={AT},v1={'0' * 64},v1={right}", BODY, now=AT)
