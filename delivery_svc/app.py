"""delivery_svc wiring."""

from __future__ import annotations

from delivery_svc import cases, handlers, http
from delivery_svc.adapters import CourierCompanies, make_couriers
from delivery_svc.repository import Repository
from delivery_svc.reservations import Clock, SlotDesk
from delivery_svc.settings import DeliverySettings
from servicekit.mongo import utcnow
from servicekit.service import Service


def build(
    settings: DeliverySettings | None = None,
    clock: Clock = utcnow,
    couriers: CourierCompanies | None = None,
) -> Service:
    settings = settings or DeliverySettings()
    service = Service(settings)
    desk = SlotDesk(Repository(service.db), settings, clock)
    http.mount(service, desk, couriers or make_couriers(settings))
    cases.mount(service, desk)
    handlers.register(service, desk)

    @service.on_startup
    async def prepare(_: Service) -> None:
        await desk.repo.ensure_indexes()
        await desk.repo.seed_points(settings.pickup_points)

    return service
