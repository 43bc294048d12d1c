"""payment_svc wiring."""

from __future__ import annotations

from payment_svc import admin, handlers, http, means
from payment_svc.adapters import BankApi, HttpBank, OrderEdge
from payment_svc.billing_edge import BillingEdge
from payment_svc.cashier import Cashier, Clock
from payment_svc.repository import Payments
from payment_svc.settings import PaymentSettings
from servicekit.mongo import utcnow
from servicekit.service import Service


def build(
    settings: PaymentSettings | None = None, bank: BankApi | None = None, clock: Clock = utcnow
) -> Service:
    settings = settings or PaymentSettings()
    service = Service(settings)
    payments = Payments(service.db)
    bank = bank or HttpBank(
        settings.bank_url, settings.bank_timeout_seconds, settings.bank_attempts
    )
    orders = OrderEdge(settings.order_url)
    billing = BillingEdge(settings.billing_url)
    cashier = Cashier(service, settings, payments, bank, clock)
    desk = means.MeansDesk(bank, billing, means.SavedCards(service.db), clock)
    http.mount(service, settings, cashier, desk, orders, clock)
    means.mount(service, desk, orders)
    admin.mount(service, cashier.refunder)
    handlers.register(service, cashier)
    service.loop(cashier.recovery_loop)
    service.loop(cashier.refunder.refund_loop)
    service.shutdown += [bank.close, orders.close, billing.close]

    @service.step("payment-indexes-v1")
    async def indexes(_: Service) -> None:
        await payments.ensure_indexes()
        await desk.cards.ensure_indexes()
        await cashier.refunder.book.ensure_indexes()

    return service
