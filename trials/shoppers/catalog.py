"""A catalog for chaos and bench runs, published through the neighbours' feeds (the store's
demo generator), and the stock it starts with, read back from the store's own database."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo import AsyncMongoClient

from launcher.stack import Stack
from store_svc.seed import seed_catalog

StockKey = tuple[int, str]  # (product id, warehouse id)


@dataclass
class Catalog:
    products: list[int]  # ids with units to sell
    scarce: list[int]  # a few units each: customers compete for them
    initial: dict[StockKey, int]  # on-hand units per line before the load


async def prepare(stack: Stack, products: int, seed: int, scarce: int = 3) -> Catalog:
    await seed_catalog(
        stack.kafka,
        products=products,
        warehouses=2,
        seed=seed,
        store_url=stack.procs["store_svc"].url,
    )
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(stack.mongo)
    try:
        lines = await client.store_svc.stocks.find({}).to_list()
    finally:
        await client.close()
    initial = {
        (int(d["productId"]), str(d["warehouseId"])): int(d["onHand"])  # type: ignore[call-overload]
        for d in lines
    }
    totals: dict[int, int] = {}
    for (product, _), units in initial.items():
        totals[product] = totals.get(product, 0) + units
    selling = sorted(p for p, units in totals.items() if units > 0)
    few = sorted(selling, key=lambda p: (totals[p], p))[:scarce]
    return Catalog(selling, few, initial)
