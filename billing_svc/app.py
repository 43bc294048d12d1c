"""billing_svc wiring: `python -m billing_svc` runs it."""

from __future__ import annotations

from datetime import timedelta

from billing_svc import handlers, http
from billing_svc.codes import AttemptWindow
from billing_svc.gift_cards import ActivationAttempts, GiftCards
from billing_svc.handlers import Clock
from billing_svc.repository import Ledger
from billing_svc.settings import BillingSettings
from servicekit.mongo import utcnow
from servicekit.service import Service


def build(settings: BillingSettings | None = None, clock: Clock = utcnow) -> Service:
    settings = settings or BillingSettings()
    service = Service(settings)
    ledger = Ledger(service.db)
    cards = GiftCards(service.db)
    window = AttemptWindow(
        settings.activation_attempts, timedelta(seconds=settings.activation_window_seconds)
    )
    attempts = ActivationAttempts(service.db, window)
    handlers.register(service, ledger, cards, clock)
    http.register(service, ledger, cards, attempts, clock)

    @service.step("billing-indexes-v1")
    async def indexes(_: Service) -> None:
        await ledger.ensure_indexes()
        await cards.ensure_indexes()
        await attempts.ensure_indexes()

    return service
