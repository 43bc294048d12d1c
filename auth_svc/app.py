"""auth_svc wiring."""

from __future__ import annotations

from auth_svc import admin, http, recovery
from auth_svc.accounts import Accounts, Clock
from auth_svc.settings import AuthSettings
from servicekit.mongo import utcnow
from servicekit.service import Service


def build(settings: AuthSettings | None = None, clock: Clock = utcnow) -> Service:
    settings = settings or AuthSettings()
    service = Service(settings)
    accounts = Accounts(service, settings, clock)
    http.mount(accounts)
    recovery.mount(accounts)
    admin.mount(accounts)

    @service.step("auth-indexes-v1")
    async def indexes(_: Service) -> None:
        await accounts.ensure_indexes()

    return service
