"""The demo catalog generator: publishes products through the product feed topic and stock
levels through the warehouse stock topic, the way the neighbour systems would, so the store
takes them in through its ordinary consumers (version rule, dedupe, DLQ and all).

Names and descriptions are Russian and English, built from word lists and deterministic for a
given `seed`; message ids derive from (product, version), so running the same seed again
changes nothing (the store's inbox drops the repeats). `python -m store_svc.seed --products N
--warehouses W --kafka HOST:PORT [--store-url URL]` publishes to a broker it is given (or
SAGASHOP_KAFKA_BOOTSTRAP); `sagashop seed-catalog` passes the running stack's broker and store."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from schemas import topics
from schemas.base import WireModel
from schemas.catalog import Measurments, ProductFeedMessage, StockLevel
from schemas.envelope import Envelope
from servicekit.broker import kafka_client_options
from servicekit.settings import ServiceSettings
from store_svc.domain import WAREHOUSES
from store_svc.seed_words import (
    BRANDS,
    EN_ADJECTIVES,
    EN_COLOURS,
    EN_FEATURES,
    EN_ITEMS,
    GENDER,
    RU_ADJECTIVES,
    RU_COLOURS,
    RU_FEATURES,
    RU_ITEMS,
)

NAMESPACE = uuid.UUID("6f1f7f7e-5d8a-4d43-9d0e-3f1c2a8b9e10")
# shelf prices in roubles; cost + 20% VAT (tax) make them up exactly, in kopecks
PRICES = (199, 299, 349, 499, 799, 999, 1490, 1990, 2490, 3990, 5990, 9990, 14990, 24990)


def product(rnd: random.Random, product_id: int, version: int) -> ProductFeedMessage:
    """One product: a Russian or an English name and description, a shelf price split into
    `cost` and 20% `tax` (kopecks), measurements in grams and millimetres."""
    brand, model = rnd.choice(BRANDS), f"{rnd.choice('ABKMPSTX')}-{rnd.randint(100, 999)}"
    if rnd.random() < 0.6:
        noun, gender = rnd.choice(RU_ITEMS)
        g = GENDER[gender]
        adjective, colour = rnd.choice(RU_ADJECTIVES)[g], rnd.choice(RU_COLOURS)[g]
        name = f"{noun} {adjective} {brand} {model}"
        features = " ".join(rnd.sample(RU_FEATURES, 2))
        months = rnd.choice((6, 12, 24))
        description = f"{noun} {colour}, {adjective}. {features} Гарантия {months} мес."
    else:
        item, adjective, colour = (
            rnd.choice(EN_ITEMS),
            rnd.choice(EN_ADJECTIVES),
            rnd.choice(EN_COLOURS),
        )
        name = f"{brand} {adjective} {item} {model}"
        features = " ".join(rnd.sample(EN_FEATURES, 2))
        description = f"{adjective} {item.lower()} in {colour}. {features}"
    shelf = rnd.choice(PRICES) * 100
    cost = shelf * 5 // 6
    return ProductFeedMessage(
        id=product_id,
        name=name,
        measurements=Measurments(
            weight=rnd.randint(50, 20_000),
            height=rnd.randint(10, 1200),
            width=rnd.randint(10, 900),
            length=rnd.randint(10, 900),
        ),
        description=description,
        cost=cost,
        tax=shelf - cost,
        version=version,
    )


def stock_levels(
    rnd: random.Random, product_id: int, warehouses: Sequence[str], version: int
) -> list[StockLevel]:
    """Units on hand per warehouse; about a quarter of the lines are sold out."""
    return [
        StockLevel(
            product_id=product_id,
            warehouse_id=warehouse,
            on_hand=0 if rnd.random() < 0.25 else rnd.randint(1, 40),
            version=version,
        )
        for warehouse in warehouses
    ]


def warehouse_ids(count: int) -> list[str]:
    return [WAREHOUSES[i] if i < len(WAREHOUSES) else f"wh-{i + 1}" for i in range(count)]


@dataclass(frozen=True)
class SeedReport:
    products: int
    stock_lines: int
    first_id: int
    last_id: int
    warehouses: tuple[str, ...]
    seconds: float


def _chunks(first: int, count: int, size: int) -> Iterator[range]:
    for start in range(first, first + count, size):
        yield range(start, min(start + size, first + count))


async def _send(
    producer: AIOKafkaProducer, topic: topics.Topic, items: list[tuple[str, str, WireModel]]
) -> None:
    """Publish (key, dedupe name, message) in one go and wait until the broker has them all."""
    acks = []
    for key, name, message in items:
        envelope = Envelope(
            message_id=str(uuid.uuid5(NAMESPACE, name)),
            correlation_id=key,
            type=message.type_name(),
        )
        headers = [(k, v.encode()) for k, v in envelope.to_headers().items()]
        acks.append(
            await producer.send(topic.name, message.to_bytes(), key=key.encode(), headers=headers)
        )
    await asyncio.gather(*acks)


async def seed_catalog(
    kafka_bootstrap: str,
    products: int = 1000,
    warehouses: int = 3,
    seed: int = 1,
    first_id: int = 1,
    version: int = 1,
    batch: int = 500,
    store_url: str | None = None,
    wait_seconds: float = 120.0,
    **client: Any,
) -> SeedReport:
    """Publish `products` products (ids from `first_id`) and their stock in `warehouses`
    warehouses; with `store_url`, wait until the store shows the last ones."""
    started, rnd, where = time.monotonic(), random.Random(seed), warehouse_ids(warehouses)  # noqa: S311 - seeded demo data, not security
    # client: aiokafka's security options (servicekit.broker.kafka_client_options)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=20, **client
    )
    await producer.start()
    lines = 0
    try:
        for ids in _chunks(first_id, products, batch):
            made = [product(rnd, pid, version) for pid in ids]
            await _send(
                producer,
                topics.PRODUCT_FEED,
                [(str(m.id), f"product:{m.id}:{version}", m) for m in made],
            )
            levels = [s for pid in ids for s in stock_levels(rnd, pid, where, version)]
            await _send(
                producer,
                topics.STOCK_FEED,
                [
                    (str(s.product_id), f"stock:{s.product_id}:{s.warehouse_id}:{version}", s)
                    for s in levels
                ],
            )
            lines += len(levels)
    finally:
        await producer.stop()
    last_id = first_id + products - 1
    if store_url and products:
        last = range(max(first_id, last_id - 19), last_id + 1)
        await wait_for_store(store_url, last, version, warehouses, wait_seconds)
    return SeedReport(
        products, lines, first_id, last_id, tuple(where), round(time.monotonic() - started, 2)
    )


async def wait_for_store(
    store_url: str, ids: range, version: int, warehouses: int, timeout: float
) -> None:
    """Until the store's cards of `ids` show `version` and every warehouse's line (a smoke
    check that the store is taking the feed in, not a barrier over every partition)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        for pid in ids:
            while True:
                async with http.get(f"{store_url}/products/{pid}") as resp:
                    card = await resp.json() if resp.status == 200 else {}
                if (
                    card.get("version", -1) >= version
                    and len(card.get("availability", ())) >= warehouses
                ):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the store did not show product {pid} in {timeout:.0f}s")
                await asyncio.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m store_svc.seed", description="publish a demo catalog and its stock"
    )
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--warehouses", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1, help="same seed, same catalog")
    parser.add_argument("--first-id", type=int, default=1)
    parser.add_argument("--version", type=int, default=1, help="feed version of everything")
    parser.add_argument("--kafka", help="bootstrap servers (default: SAGASHOP_KAFKA_BOOTSTRAP)")
    parser.add_argument("--store-url", help="wait for this store to show the catalog")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for the store")
    args = parser.parse_args(argv)
    if args.products < 0 or not 1 <= args.warehouses <= 100 or args.first_id < 1:
        parser.error("--products >= 0, --warehouses 1..100 and --first-id >= 1")
    # `sagashop seed-catalog` passes the running stack's broker and store; inside compose the
    # broker and its SASL user come from the service settings (SAGASHOP_KAFKA_* variables)
    settings = ServiceSettings(service_name="seed")
    kafka = args.kafka or os.environ.get("SAGASHOP_KAFKA_BOOTSTRAP")
    if not kafka:
        parser.error(
            "no --kafka and no SAGASHOP_KAFKA_BOOTSTRAP (`sagashop seed-catalog` finds them)"
        )
    store = args.store_url
    report = asyncio.run(
        seed_catalog(
            kafka,
            products=args.products,
            warehouses=args.warehouses,
            seed=args.seed,
            first_id=args.first_id,
            version=args.version,
            store_url=None if args.no_wait else store,
            **kafka_client_options(settings),
        )
    )
    print(
        f"published {report.products} products (ids {report.first_id}..{report.last_id}) and "
        f"{report.stock_lines} stock lines in {', '.join(report.warehouses)} "
        f"in {report.seconds}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
