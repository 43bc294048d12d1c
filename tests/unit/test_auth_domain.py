"""auth_svc's pure rules: the progressive throttle, the client address behind proxies, username
shapes, contact keys, loopback hosts and argon2's floor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from auth_svc import domain
from auth_svc.domain import Throttle

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
THROTTLE = Throttle("slow down", 5, timedelta(seconds=5), timedelta(minutes=15))


def test_the_free_attempts_never_wait():
    assert all(THROTTLE.wait(n, NOW, NOW) == timedelta(0) for n in range(5))


def test_past_the_free_attempts_the_delay_doubles_per_attempt_up_to_the_cap():
    waits = [THROTTLE.wait(n, NOW, NOW) for n in (5, 6, 7, 20)]
    assert waits == [timedelta(seconds=s) for s in (5, 10, 20, 15 * 60)]


def test_the_delay_counts_from_the_last_attempt():
    assert THROTTLE.wait(6, NOW - timedelta(seconds=4), NOW) == timedelta(seconds=6)
    assert THROTTLE.wait(6, NOW - timedelta(seconds=10), NOW) == timedelta(0)


def test_a_refusal_is_a_429_with_a_whole_retry_after():
    refused = THROTTLE.refuse(timedelta(seconds=4.2))
    assert refused.status == 429 and refused.retry_after == 5


@pytest.mark.parametrize("name", ["a@b.c", "+79991234567", "8 (999) 123-45-67", "79991234567"])
def test_a_username_shaped_like_an_email_or_a_phone_looks_like_a_contact(name: str):
    assert domain.looks_like_contact(name)


@pytest.mark.parametrize("name", ["ivan", "Ivan_Petrov", "user.2024", "12345"])
def test_an_ordinary_username_does_not_look_like_a_contact(name: str):
    assert not domain.looks_like_contact(name)


def test_every_spelling_of_one_contact_has_one_key():
    assert domain.contact_key(" Ivan@Example.COM ") == domain.contact_key("ivan@example.com")
    assert domain.contact_key("8 999 123-45-67") == domain.contact_key("+7 (999) 1234567")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8080", "localhost:80", "[::1]:81", "::1"])
def test_loopback_hosts_are_recognised(host: str):
    assert domain.is_loopback(host)


@pytest.mark.parametrize("host", ["shop.example", "10.0.0.1:8080", "[2001:db8::1]:443"])
def test_other_hosts_are_not_loopback(host: str):
    assert not domain.is_loopback(host)


def test_argon2_costs_at_or_above_an_owasp_minimum_are_kept():
    assert domain.argon2_floor(3, 65536) == (3, 65536)
    assert domain.argon2_floor(1, 47104) == (1, 47104)
    assert domain.argon2_floor(5, 7168) == (5, 7168)


def test_argon2_costs_under_every_owasp_minimum_are_raised_to_19_mib_and_two_passes():
    assert domain.argon2_floor(1, 8192) == (2, 19456)
    assert domain.argon2_floor(4, 4096) == (4, 19456)
