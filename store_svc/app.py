"""store_svc wiring."""

from __future__ import annotations

from schemas.catalog_http import PickingStatus
from servicekit import migrations
from servicekit.mongo import utcnow
from servicekit.service import Service
from store_svc import handlers, http, picking_http, reservations
from store_svc.keeper import Clock, StockKeeper
from store_svc.settings import StoreSettings


def build(settings: StoreSettings | None = None, clock: Clock = utcnow) -> Service:
    settings = settings or StoreSettings()
    service = Service(settings)
    keeper = StockKeeper(service, settings, clock)
    http.mount(keeper)
    reservations.mount(keeper)
    picking_http.mount(keeper)
    handlers.register(keeper)

    @service.step("store-indexes-v1")
    async def indexes(_: Service) -> None:
        await keeper.ensure_indexes()

    @service.step("store-picking-status-upper-v1")
    async def picking_status_upper(_: Service) -> None:
        # picking cases stored while the status was lower case (`handed_over`)
        old = [s.lower() for s in PickingStatus]
        await migrations.upper_case(service.db.picking, "status", old, history="history")

    return service
