"""catalog bounded context: feeds from neighbour systems into store_svc.

`ProductFeedMessage` is 003's "product created/updated" message; its wire names keep the seed's
typos (`measurments`, `lenght`) while the Python attributes are spelt right. Both feeds come from
neighbours, so unknown fields are ignored rather than rejected. `version` orders the updates of
one product / stock line: a consumer ignores a version not newer than the one it has.
"""

from __future__ import annotations

from pydantic import Field

from schemas.base import Money, NeighbourModel, NonEmptyStr, NonNegativeInt, Version, message


class Measurments(NeighbourModel):
    """003 `measurments{weight, height, width, lenght}`, non-negative ints (units not given)."""

    weight: NonNegativeInt
    height: NonNegativeInt
    width: NonNegativeInt
    length: NonNegativeInt = Field(alias="lenght")


@message
class ProductFeedMessage(NeighbourModel):
    """003: `{id, name, measurments, description?, cost, tax, version}`; `cost` in kopecks."""

    id: int = Field(ge=1)
    name: NonEmptyStr
    measurements: Measurments = Field(alias="measurments")
    description: str | None = None
    cost: Money
    tax: NonNegativeInt
    version: Version


@message
class StockLevel(NeighbourModel):
    """Warehouse stock feed: units on hand of a product in one warehouse (not net of reserves)."""

    product_id: int = Field(ge=1)
    warehouse_id: NonEmptyStr
    on_hand: NonNegativeInt
    version: Version
