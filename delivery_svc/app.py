"""delivery_svc wiring."""

from __future__ import annotations

from delivery_svc import cases, handlers, http, pickups, shipping
from delivery_svc.adapters import CourierCompanies, make_couriers
from delivery_svc.carriers import CarrierClient
from delivery_svc.queues import Queues
from delivery_svc.repository import Repository
from delivery_svc.reservations import Clock, SlotDesk
from delivery_svc.settings import DeliverySettings
from schemas.delivery_http import CaseStatus, HoldStatus
from servicekit import migrations
from servicekit.mongo import utcnow
from servicekit.service import Service


def build(
    settings: DeliverySettings | None = None,
    clock: Clock = utcnow,
    couriers: CourierCompanies | None = None,
    carrier: CarrierClient | None = None,
) -> Service:
    settings = settings or DeliverySettings()
    service = Service(settings)
    desk = SlotDesk(Repository(service.db), settings, clock)
    http.mount(service, desk, couriers or make_couriers(settings))
    cases.mount(service, desk)
    queues = Queues(desk.repo)
    pickups.mount(service, desk, queues)
    shipping.mount(service, desk, queues, carrier or CarrierClient.from_settings(settings))
    handlers.register(service, desk)

    @service.step("delivery-indexes-v1")
    async def indexes(_: Service) -> None:
        await desk.repo.ensure_indexes()

    @service.step("delivery-status-upper-v1")
    async def status_upper(_: Service) -> None:
        # holds and cases stored while their statuses were lower case (`held`, `in_transit`)
        await migrations.upper_case(desk.repo.holds, "status", [s.lower() for s in HoldStatus])
        old = [s.lower() for s in CaseStatus]
        await migrations.upper_case(desk.repo.cases, "status", old, history="history")

    @service.on_startup
    async def seed(_: Service) -> None:
        await desk.repo.seed_points(settings.pickup_points)

    return service
