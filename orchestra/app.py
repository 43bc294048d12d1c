"""orchestra wiring."""

from __future__ import annotations

from orchestra import handlers, http
from orchestra.handlers import Clock
from orchestra.repository import Sagas
from orchestra.settings import OrchestraSettings
from servicekit.mongo import utcnow
from servicekit.service import Service


def build(settings: OrchestraSettings | None = None, clock: Clock = utcnow) -> Service:
    settings = settings or OrchestraSettings()
    service = Service(settings)
    sagas = Sagas(service.db)
    handlers.register(service, settings, sagas, clock)
    http.mount(service, sagas)

    @service.step("orchestra-indexes-v1")
    async def indexes(_: Service) -> None:
        await sagas.ensure_indexes()

    return service
