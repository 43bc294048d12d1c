"""order_svc wiring."""

from __future__ import annotations

from order_svc import admin, admin_actions, checkout, gift_cards, handlers, http, reports
from order_svc.admin_actions import AdminActions
from order_svc.book import Clock, OrderBook
from order_svc.settings import OrderSettings
from servicekit import idempotency
from servicekit.mongo import utcnow
from servicekit.service import Service


def build(settings: OrderSettings | None = None, clock: Clock = utcnow) -> Service:
    settings = settings or OrderSettings()
    service = Service(settings)
    book = OrderBook(service, settings, clock)
    http.mount(book)
    checkout.mount(book)
    gift_cards.mount(book)
    actions = AdminActions(service.db)
    admin.mount(book, actions)
    admin_actions.mount(book, actions)
    reports.mount(book)
    handlers.register(book)

    @service.step("order-indexes-v1")
    async def indexes(_: Service) -> None:
        await book.orders.ensure_indexes()
        await actions.ensure_indexes()
        await idempotency.ensure_indexes(service.db[idempotency.COLLECTION])

    return service
