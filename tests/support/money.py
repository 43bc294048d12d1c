"""Helpers for the money e2e tests: registered shoppers, an admin, balances that settle, what
the bank's books say and which e-mails reached whom."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from launcher.stack import Stack
from notification_svc.kept_mail import mails_to
from tests.support.kafka import eventually
from trials.shoppers.load_admin import grant_admin
from trials.shoppers.shopper import EdgeError, Shopper

NewShopper = Callable[[], Awaitable[Shopper]]


@asynccontextmanager
async def registered_shoppers(urls: dict[str, str]) -> AsyncIterator[NewShopper]:
    """A factory of registered, logged-in customers; all closed on the way out."""
    made: list[Shopper] = []

    async def new() -> Shopper:
        s = await Shopper(urls).__aenter__()
        made.append(s)
        await s.register()
        return s

    try:
        yield new
    finally:
        for s in made:
            await s.__aexit__()


async def make_admin(stack: Stack, s: Shopper) -> Shopper:
    """`s`, made an admin the way the chaos run's clerk is (the CLI's way is tested with
    auth_svc)."""
    await grant_admin(stack, s)
    return s


async def wallet_reaches(s: Shopper, balance: int, timeout: float = 30.0) -> dict[str, Any]:
    """The wallet once its balance is `balance`: credits arrive a moment after the bank, and
    the wallet itself is opened a moment after registration (404 until then)."""

    async def reached() -> dict[str, Any] | None:
        try:
            wallet = await s.wallet()
        except EdgeError as exc:
            if exc.status != 404:
                raise
            return None
        return wallet if wallet["balance"] == balance else None

    return dict(await eventually(reached, timeout=timeout))


async def bank_totals(s: Shopper, headers: dict[str, str]) -> dict[str, int]:
    """What the bank moved so far (the simulator's `GET /ledger`, for its admin)."""
    return dict(await s.call("bank_sim", "GET", "/ledger", headers=headers))


async def mail_about(sent: Path, to: str, *words: str, timeout: float = 30.0) -> dict[str, Any]:
    """The first e-mail to `to` whose subject and body mention every one of `words`."""

    async def found() -> dict[str, Any] | None:
        for mail in mails_to(sent, to):
            text = f"{mail.get('subject', '')} {mail.get('body', '')}"
            if all(w in text for w in words):
                return mail
        return None

    return dict(await eventually(found, timeout=timeout))
