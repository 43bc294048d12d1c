"""billing_svc wiring: `python -m billing_svc` runs it."""

from __future__ import annotations

from billing_svc import handlers, http
from billing_svc.handlers import Clock
from billing_svc.settings import BillingSettings
from servicekit.mongo import utcnow
from servicekit.service import Service


def build(settings: BillingSettings | None = None, clock: Clock = utcnow) -> Service:
    service = Service(settings or BillingSettings())
    handlers.register(service, clock)
    http.register(service)
    return service
