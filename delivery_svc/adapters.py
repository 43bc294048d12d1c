"""The courier companies, a neighbour system: the list of companies and what each asks for
bringing an order to an address. A simulator stands in for their price APIs; a real adapter
plugs in by configuration (`SAGASHOP_COURIER_ADAPTER=package.module:factory`)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

from delivery_svc.domain import Tariff, price
from delivery_svc.settings import DeliverySettings
from servicekit.errors import InvalidRequest


@dataclass(frozen=True)
class Company:
    id: str
    name: str


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


def make_couriers(settings: DeliverySettings) -> CourierCompanies:
    if settings.courier_adapter == "simulator":
        return SimulatedCouriers(settings)
    module, _, factory = settings.courier_adapter.partition(":")
    built: CourierCompanies = getattr(importlib.import_module(module), factory)(settings)
    return built
