"""The courier companies, a neighbour system: the list of companies and what each asks for
bringing an order to an address. `SAGASHOP_COURIER_ADAPTER` picks who answers: "simulator"
(the tariffs applied in-process, instant), "http" (the carriers' API, delivery_svc.carriers:
a price with the carrier's quote id and expiry), or `package.module:factory`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from delivery_svc.carriers import CarrierClient
from delivery_svc.domain import Tariff, price
from delivery_svc.settings import DeliverySettings
from servicekit.errors import InvalidRequest


@dataclass(frozen=True)
class Company:
    id: str
    name: str


@dataclass(frozen=True)
class Offer:
    """A price in kopecks and, when a carrier gave it, the carrier's quote id and expiry."""

    cost: int
    carrier_quote_id: str | None = None
    carrier_expires_at: datetime | None = None


class CourierCompanies(Protocol):
    def companies(self) -> list[Company]: ...

    async def quote(self, company_id: str, address: str) -> int:
        """The company's price in kopecks for delivering to `address`."""
        ...


class UnknownCompany(InvalidRequest):
    def __init__(self, company_id: str, known: list[Company]) -> None:
        names = ", ".join(c.id for c in known)
        super().__init__(f"unknown courier company {company_id!r}; known: {names}")


class SimulatedCouriers:
    """Each company's tariff applied to the address (domain.price): deterministic, instant."""

    def __init__(self, settings: DeliverySettings) -> None:
        self._companies = [Company(c.id, c.name) for c in settings.courier_companies]
        self._tariffs = {
            c.id: Tariff(c.base_cost, c.per_char_cost) for c in settings.courier_companies
        }

    def companies(self) -> list[Company]:
        return list(self._companies)

    async def quote(self, company_id: str, address: str) -> int:
        tariff = self._tariffs.get(company_id)
        if tariff is None:
            raise UnknownCompany(company_id, self._companies)
        return price(tariff, address)


class HttpCouriers:
    """Prices asked of the carriers' API (the carrier simulator stands in for it): the
    companies are those of the settings; an unknown one is refused before any call. A carrier
    that does not answer after the client's retries is a 503 (CarrierUnavailable)."""

    def __init__(self, settings: DeliverySettings, client: CarrierClient | None = None) -> None:
        self._companies = [Company(c.id, c.name) for c in settings.courier_companies]
        self.client = client or CarrierClient.from_settings(settings)

    def companies(self) -> list[Company]:
        return list(self._companies)

    async def offer(self, company_id: str, address: str) -> Offer:
        if all(c.id != company_id for c in self._companies):
            raise UnknownCompany(company_id, self._companies)
        given = await self.client.quote(company_id, address)
        return Offer(given.price, given.quote_id, given.expires_at)

    async def quote(self, company_id: str, address: str) -> int:
        return (await self.offer(company_id, address)).cost

    async def close(self) -> None:
        await self.client.close()


async def offer_of(couriers: CourierCompanies, company_id: str, address: str) -> Offer:
    """The adapter's offer: with the carrier's quote id and expiry when it has an `offer`
    (HttpCouriers), else just its price."""
    offer = getattr(couriers, "offer", None)
    if offer is not None:
        given: Offer = await offer(company_id, address)
        return given
    return Offer(await couriers.quote(company_id, address))


def make_couriers(settings: DeliverySettings) -> CourierCompanies:
    if settings.courier_adapter == "simulator":
        return SimulatedCouriers(settings)
    if settings.courier_adapter == "http":
        return HttpCouriers(settings)
    module, _, factory = settings.courier_adapter.partition(":")
    built: CourierCompanies = getattr(importlib.import_module(module), factory)(settings)
    return built
