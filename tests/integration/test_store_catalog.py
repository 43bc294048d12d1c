"""store_svc's catalog over HTTP on the real broker and database: products from the feed (003,
with its version rule), search, paging and sorting, product cards with discounts, guests
browsing, and a 10,000-product catalog paged by the database."""

from __future__ import annotations

import random
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson
import pytest
from pymongo import AsyncMongoClient

from launcher.embedded import EmbeddedInfra
from launcher.processes import ServiceProcess
from schemas import topics
from schemas.catalog import ProductFeedMessage
from store_svc.repository import product_fields, search_filter
from store_svc.seed import seed_catalog
from tests.conftest import start_service
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import header, publish, read_topic
from tests.support.services import running
from tests.support.store import (
    card_of,
    feed_product,
    logged_in,
    make_admin,
    nonce,
    product,
    unique_id,
)

IMAGES = "https://cdn.example.test/img"


@pytest.fixture(scope="module")
async def store(infra: Infra, auth: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    proc = start_service(
        infra,
        "store_svc",
        Path(tempfile.mkdtemp()),
        env={"SAGASHOP_AUTH_URL": auth.url, "SAGASHOP_IMAGE_BASE_URL": IMAGES},
    )
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture
async def guest(store: ServiceProcess) -> AsyncIterator[Client]:
    # two CI runs (of ~10) saw the store answer nothing for over a minute right after the
    # 10,000-product insert below, late in the full suite; not reproduced alone or in the
    # suite's tail. A slow answer fails these tests only after 2 minutes (see the note).
    client = Client(store.url, timeout=120)
    yield client
    await client.close()


async def test_a_feed_product_gets_a_card_priced_at_cost_plus_tax(
    infra: Infra, guest: Client
) -> None:
    pid = unique_id()
    await feed_product(
        infra.kafka_bootstrap,
        product(pid, "Чайник электрический", "Стальной, 1,7 л", cost=199_000, tax=39_800),
    )
    card = await card_of(guest, pid)
    assert card == {
        "id": pid,
        "name": "Чайник электрический",
        "description": "Стальной, 1,7 л",
        "price": 238_800,
        "currency": "RUB",
        "imageUrl": f"{IMAGES}/{pid}.jpg",
        "availability": [],
        "available": 0,
        "measurements": {"weight": 500, "height": 10, "width": 20, "length": 30},
        "version": 1,
    }
    assert (await guest.get(f"/products/{unique_id()}"))[0] == 404
    assert (await guest.get("/products/abc"))[0] == 400


async def test_an_older_or_equal_version_never_overwrites_a_newer_one(
    infra: Infra, guest: Client
) -> None:
    pid, marker = unique_id(), unique_id()
    same_partition = f"versions-{pid}"
    for version, name in [(5, "Пятая"), (3, "Третья"), (5, "Снова пятая"), (4, "Четвёртая")]:
        await feed_product(
            infra.kafka_bootstrap, product(pid, name, version=version), same_partition
        )
    await feed_product(infra.kafka_bootstrap, product(marker, "Метка"), same_partition)
    await card_of(guest, marker)  # everything before it on the partition has been handled
    card = await card_of(guest, pid, version=5)
    assert (card["name"], card["version"]) == ("Пятая", 5)
    await feed_product(infra.kafka_bootstrap, product(pid, "Шестая", version=6))
    assert (await card_of(guest, pid, version=6))["name"] == "Шестая"


async def test_an_invalid_feed_message_goes_to_the_dlq_and_the_next_one_is_taken(
    infra: Infra, guest: Client, store: ServiceProcess
) -> None:
    key, pid = f"bad-{uuid.uuid4().hex}", unique_id()
    bad = await publish(
        infra.kafka_bootstrap, topics.PRODUCT_FEED.name, {"id": "x", "name": ""}, key=key
    )
    await feed_product(infra.kafka_bootstrap, product(pid, "После плохого"), key)
    await card_of(guest, pid)
    records = await read_topic(
        infra.kafka_bootstrap, topics.PRODUCT_FEED.dlq, expect=10**6, timeout=2
    )
    mine = [r for r in records if header(r, "message_id") == bad]
    assert len(mine) == 1, "dead-lettered once"
    assert (header(mine[0], "dlq_consumer") or "").startswith(store.name)
    assert header(mine[0], "dlq_kind") == "validation"


async def test_search_finds_a_word_of_the_name_or_the_description_in_any_case(
    infra: Infra, guest: Client
) -> None:
    in_name, in_text, latin = nonce(), nonce(), nonce("abcdefghijklmnopqrstuvwxyz")
    kettle, lamp, other = unique_id(), unique_id(), unique_id()
    await feed_product(
        infra.kafka_bootstrap,
        product(kettle, f"Чайник {in_name.upper()}", f"Kettle {latin}, стальной"),
    )
    await feed_product(infra.kafka_bootstrap, product(lamp, "Лампа", f"Теплый свет {in_text}"))
    await feed_product(infra.kafka_bootstrap, product(other, "Стол", "Дубовый"))
    for pid in (kettle, lamp, other):
        await card_of(guest, pid)

    async def found(q: str) -> list[int]:
        status, page = await guest.get("/products", params={"q": q})
        assert status == 200, page
        return [item["id"] for item in page["items"]]

    assert await found(in_name) == [kettle]  # stored upper case, asked lower case
    assert await found(in_name[:4].upper()) == [kettle]  # the start of a word is enough
    assert await found(f"чайник {in_name}") == [kettle]  # every word must match
    assert await found(f"лампа {in_name}") == []
    assert await found(in_text.capitalize()) == [lamp]  # a word of the description
    assert await found(f"ТЁПЛЫЙ {in_text}") == [lamp]  # yo and ie are one letter
    assert await found(f"{latin.upper()} kettle") == [kettle]
    assert await found(in_name[1:]) == []  # words match from their start only


async def test_pages_are_cut_and_sorted_by_name_or_price_either_way(
    infra: Infra, guest: Client
) -> None:
    tag = nonce()
    prices = {"Бра": 500, "арфа": 300, "Ведро": 100, "Глобус": 400, "дрель": 200}
    ids = {}
    for name, cost in prices.items():
        ids[name] = unique_id()
        await feed_product(
            infra.kafka_bootstrap, product(ids[name], name, f"серия {tag}", cost=cost, tax=0)
        )
    for pid in ids.values():
        await card_of(guest, pid)

    async def names(sort: str, page: int, size: int = 2) -> tuple[list[str], int]:
        status, body = await guest.get(
            "/products", params={"q": tag, "sort": sort, "page": page, "pageSize": size}
        )
        assert status == 200, body
        assert (body["page"], body["pageSize"]) == (page, size)
        return [i["name"] for i in body["items"]], body["total"]

    assert await names("name", 0) == (["арфа", "Бра"], 5)
    assert await names("name", 2) == (["дрель"], 5)
    assert await names("-name", 0, 5) == (["дрель", "Глобус", "Ведро", "Бра", "арфа"], 5)
    assert await names("price", 0, 3) == (["Ведро", "дрель", "арфа"], 5)
    assert await names("-price", 0, 3) == (["Бра", "Глобус", "арфа"], 5)
    assert await names("-price", 1, 3) == (["дрель", "Ведро"], 5)
    assert await names("price", 3) == ([], 5)
    status, body = await guest.get("/products", params={"sort": "weight"})
    assert status == 400 and "sort" in body["errorMessage"]
    assert (await guest.get("/products", params={"pageSize": "1000"}))[0] == 400


async def test_guests_browse_the_catalog_but_must_log_in_to_reserve(
    guest: Client, infra: Infra
) -> None:
    pid = unique_id()
    await feed_product(infra.kafka_bootstrap, product(pid, "Глобус"))
    await card_of(guest, pid)
    assert (await guest.get("/products"))[0] == 200
    assert (await guest.get(f"/stocks/{pid}")) == (200, {"count": 0})
    order = {"orderId": str(uuid.uuid4()), "items": [{"productId": pid, "quantity": 1}]}
    status, body = await guest.post("/reservations", order)
    assert (status, body) == (401, {"errorMessage": "User not authorized"})
    guest.set_cookie("sessionId", "forged")
    assert (await guest.post("/reservations", order))[0] == 401


async def test_an_admin_discount_shows_the_price_before_and_after_and_sorts_by_it(
    infra: Infra, guest: Client, auth: ServiceProcess, store: ServiceProcess, mongo: Any
) -> None:
    pid, tag = unique_id(), nonce()
    await feed_product(infra.kafka_bootstrap, product(pid, "Дорогой", tag, cost=10_000, tax=0))
    cheaper = unique_id()
    await feed_product(infra.kafka_bootstrap, product(cheaper, "Дешёвый", tag, cost=8_000, tax=0))
    await card_of(guest, pid)
    await card_of(guest, cheaper)
    customer, _ = await logged_in(auth, store.url)
    admin, username = await logged_in(auth, store.url)
    await make_admin(mongo, auth, username)
    try:
        assert (await customer.put(f"/products/{pid}/discount", {"percent": 30}))[0] == 403
        assert (await admin.put(f"/products/{pid}/discount", {"percent": 100}))[0] == 400
        status, card = await admin.put(f"/products/{pid}/discount", {"percent": 30})
        assert status == 200, card
        assert card["price"] == 7_000
        assert card["discount"] == {"percent": 30, "priceBefore": 10_000, "priceAfter": 7_000}
        page = (await guest.get("/products", params={"q": tag, "sort": "price"}))[1]
        assert [i["id"] for i in page["items"]] == [pid, cheaper]
        # a new feed version keeps the discount on the new price
        await feed_product(
            infra.kafka_bootstrap, product(pid, "Дорогой", tag, cost=20_000, tax=0, version=2)
        )
        card = await card_of(guest, pid, version=2)
        assert card["discount"] == {"percent": 30, "priceBefore": 20_000, "priceAfter": 14_000}
        await admin.put(f"/products/{pid}/discount", {"percent": 0})
        assert "discount" not in (await guest.get(f"/products/{pid}"))[1]
    finally:
        await customer.close()
        await admin.close()


def _vm(pid: int, field: str) -> int:
    """A memory figure of a process in bytes, from /proc/<pid>/status (VmHWM: peak RSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def _reset_peak(pid: int) -> None:
    """VmHWM counts from now on (`man 5 proc`, clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


LOREM = (
    "Надёжная вещь для дома и дачи, проверенная временем. Подходит для ежедневного "
    "использования, легко чистится, не боится влаги. Durable, easy to clean, made to last. "
)


@pytest.fixture
async def own_server(auth: ServiceProcess) -> AsyncIterator[tuple[ServiceProcess, Client, Any]]:
    """A store on a broker and database of its own: late in the suite the shared embedded
    database carries every earlier module's data and background work, and this test's 10,000
    inserts and scans took 95-122 s there against 9 s alone, with nothing about the store's
    paging learnt from the wait."""
    embedded = EmbeddedInfra.create(Path(tempfile.mkdtemp(prefix="sagashop-catalog-")))
    await embedded.start()
    own = Infra("embedded", embedded.kafka_bootstrap, embedded.mongo_url, embedded)
    client: AsyncMongoClient[Any] = AsyncMongoClient(own.mongo_url, tz_aware=True)
    try:
        async with running(
            own, "store_svc", SAGASHOP_AUTH_URL=auth.url, SAGASHOP_IMAGE_BASE_URL=IMAGES
        ) as proc:
            guest = Client(proc.url, timeout=120)
            try:
                yield proc, guest, client
            finally:
                await guest.close()
    finally:
        await client.close()
        embedded.stop()


async def test_catalog_pages_answer_for_10000_products_without_loading_them_into_memory(
    own_server: tuple[ServiceProcess, Client, Any],
) -> None:
    """The products go straight into the store's database (the feed path is tested above);
    the service must page, sort, search and count them in the database. Proof: its peak
    memory grows by far less than the catalog's size while it answers."""
    store, guest, mongo = own_server
    tag, n, now = nonce(), 10_000, datetime.now(UTC)
    rnd = random.Random(7)
    first = unique_id()
    docs = []
    for i in range(n):
        msg = ProductFeedMessage.model_validate(
            product(
                first + i,
                f"{tag} товар {i:05d}",
                LOREM * 2 + f"артикул{i}",
                cost=rnd.randint(100, 10**6),
            )
        )
        docs.append({"_id": msg.id, **product_fields(msg, 0, now), "discountPercent": 0})
    catalog_bytes = sum(len(bson.encode(d)) for d in docs)
    products = mongo[store.name].products
    for start in range(0, n, 1000):
        await products.insert_many(docs[start : start + 1000], ordered=False)
    del docs
    assert catalog_bytes > 8 * 2**20

    await guest.get("/products")  # warm up: connection pools, first-request allocations
    await guest.get("/products", params={"q": tag})
    pid = store.pid or 0
    _reset_peak(pid)
    before = _vm(pid, "VmHWM")

    status, body = await guest.get("/products", params={"q": tag, "page": 400, "pageSize": 20})
    assert status == 200 and body["total"] == n
    assert [i["name"] for i in body["items"]] == [f"{tag} товар {i:05d}" for i in range(8000, 8020)]
    status, body = await guest.get("/products", params={"pageSize": 50})
    assert status == 200 and len(body["items"]) == 50 and body["total"] >= n
    deep = body["total"] // 50 - 1
    status, body = await guest.get(
        "/products", params={"page": deep, "pageSize": 50, "sort": "-price"}
    )
    assert status == 200 and len(body["items"]) == 50
    prices = [i["price"] for i in body["items"]]
    assert prices == sorted(prices, reverse=True)
    status, body = await guest.get("/products", params={"q": f"артикул{n - 1}"})
    assert status == 200 and [i["id"] for i in body["items"]] == [first + n - 1]

    peak = _vm(pid, "VmHWM")
    assert peak - before < catalog_bytes // 4, (before, peak, catalog_bytes)

    plan = await products.find(search_filter([tag])).explain()
    stage = plan["queryPlanner"]["winningPlan"]
    while "inputStage" in stage and stage["stage"] != "IXSCAN":
        stage = stage["inputStage"]
    assert (stage["stage"], stage["indexName"]) == ("IXSCAN", "searchTokens_1")


async def test_the_demo_catalog_generator_feeds_products_and_stock_through_the_topics(
    infra: Infra, guest: Client, store: ServiceProcess
) -> None:
    first = unique_id()
    report = await seed_catalog(
        infra.kafka_bootstrap,
        products=30,
        warehouses=2,
        seed=5,
        first_id=first,
        batch=8,
        store_url=store.url,
        wait_seconds=120,
    )
    assert (report.products, report.stock_lines, report.last_id) == (30, 60, first + 29)
    cards = [await card_of(guest, pid) for pid in range(first, first + 30)]
    assert all({a["warehouseId"] for a in c["availability"]} == {"msk-1", "spb-1"} for c in cards)
    assert all(c["price"] % 100 == 0 and c["description"] for c in cards)
    assert any(re.search("[\u0430-\u044f]", c["name"].lower()) for c in cards)  # Russian names
    word = cards[0]["name"].split()[0]
    found = (await guest.get("/products", params={"q": word, "pageSize": 100}))[1]["items"]
    assert first in [item["id"] for item in found]
