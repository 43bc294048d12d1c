"""billing's subscribers: a registered user gets a wallet."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from billing_svc import domain
from billing_svc.repository import Wallets
from schemas import topics
from schemas.auth import UserRegistered
from servicekit.service import Service
from servicekit.unit import Tx

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def register(service: Service, clock: Clock) -> None:
    @service.subscribe(topics.USER_REGISTERED, UserRegistered)
    async def open_wallet(msg: UserRegistered, tx: Tx) -> None:
        wallet = domain.open_wallet(msg.username)
        if await Wallets(tx.db).open(wallet, clock(), tx.session):
            log.info("wallet opened for %s", msg.username)
        else:
            log.info("%s already has a wallet", msg.username)
