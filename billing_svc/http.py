"""billing's edge: the caller's wallet.

The body models belong in `schemas/billing.py`; they live here until that module is free to
change (the same camelCase wire names either way).
"""

from __future__ import annotations

from aiohttp import web

from billing_svc.domain import WalletNotFound
from billing_svc.repository import Wallets
from schemas.base import Currency, Money, NonEmptyStr, WireModel
from servicekit.http import reply
from servicekit.identity import customer
from servicekit.service import Service


class WalletBalance(WireModel):
    username: NonEmptyStr
    balance: Money
    currency: Currency


def register(service: Service) -> None:
    wallets = Wallets(service.db)

    @service.routes.get("/wallet", response=WalletBalance, auth="customer")
    async def get_wallet(request: web.Request) -> web.Response:
        """The caller's wallet balance (kopecks)."""
        caller = await customer(request, service.auth)
        wallet = await wallets.get(caller.username)
        if wallet is None:
            raise WalletNotFound()
        return reply(
            WalletBalance(
                username=wallet.username, balance=wallet.balance, currency=wallet.currency
            )
        )
