"""store_svc's edge, catalog and stock part: the product list and search and the product card
(open to guests, 003), the product discount, 000's `stocks` count and the warehouse counts."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from schemas.catalog_http import (
    DiscountRequest,
    ProductCard,
    ProductPage,
    ProductQuery,
    StockCount,
    StockLine,
    StockLines,
    StockSetRequest,
)
from servicekit.errors import InvalidRequest, NotFound
from servicekit.http import INT_PARAM, int_param, read_body, read_query, reply
from servicekit.identity import admin
from servicekit.mongo import Doc
from servicekit.unit import Tx
from store_svc import domain, views
from store_svc.keeper import StockKeeper


def mount(keeper: StockKeeper) -> None:
    service, products, stocks = keeper.service, keeper.products, keeper.stocks
    image_base = keeper.settings.image_base_url

    async def cards(docs: list[Doc]) -> list[ProductCard]:
        lines: dict[int, list[Doc]] = {}
        for line in await stocks.lines(d["_id"] for d in docs):
            lines.setdefault(line["productId"], []).append(line)
        return [views.card(d, lines.get(d["_id"], []), image_base) for d in docs]

    async def product(product_id: int) -> Doc:
        doc = await products.get(product_id)
        if doc is None:
            raise NotFound(f"Product not found: {product_id}")
        return doc

    @service.routes.get("/products", response=ProductPage, query=ProductQuery)
    async def list_products(request: web.Request) -> web.Response:
        """Products, a page at a time, sorted by `name` or `price` (`-` for descending);
        `q` finds products whose name or description has words starting with each query
        word (case-insensitive, Cyrillic included)."""
        query = read_query(request, ProductQuery)
        words = domain.query_words(query.q)
        docs, total = await products.page(words, query.sort, query.page, query.page_size)
        return reply(
            ProductPage(
                items=tuple(await cards(docs)),
                page=query.page,
                page_size=query.page_size,
                total=total,
            )
        )

    @service.routes.get("/products/{id}", response=ProductCard, params={"id": INT_PARAM})
    async def get_product(request: web.Request) -> web.Response:
        """The product card: price, discount, image, availability per warehouse and in total."""
        doc = await product(int_param(request, "id"))
        return reply((await cards([doc]))[0])

    @service.routes.put(
        "/products/{id}/discount",
        body=DiscountRequest,
        response=ProductCard,
        auth="admin",
        params={"id": INT_PARAM},
    )
    async def set_discount(request: web.Request) -> web.Response:
        """Set the product's discount in percent (0 removes it)."""
        await admin(request, service.auth)
        product_id = int_param(request, "id")
        req = await read_body(request, DiscountRequest)

        async def apply(tx: Tx) -> Doc:
            doc = await products.get(product_id, tx.session)
            if doc is None:
                raise NotFound(f"Product not found: {product_id}")
            return await products.set_discount(doc, req.percent, tx.session)

        return reply((await cards([await service.transaction(apply)]))[0])

    @service.routes.get("/stocks/{sku}", response=StockCount, params={"sku": INT_PARAM})
    async def count(request: web.Request) -> web.Response:
        """000 `stocks`: units that can be bought, over all warehouses."""
        sku = int_param(request, "sku")
        lines = await stocks.lines([sku])
        if not lines:
            await product(sku)
        return reply(StockCount(count=sum(line["available"] for line in lines)))

    @service.routes.get(
        "/stock/{sku}", response=StockLines, auth="admin", params={"sku": INT_PARAM}
    )
    async def stock_lines(request: web.Request) -> web.Response:
        """Every warehouse's line of the product: on hand, reserved, booked, available."""
        await admin(request, service.auth)
        sku = int_param(request, "sku")
        lines = sorted(await stocks.lines([sku]), key=lambda line: line["warehouseId"])
        return reply(StockLines(product_id=sku, lines=tuple(map(views.stock_line, lines))))

    @service.routes.put(
        "/stock/{sku}/{warehouse}",
        body=StockSetRequest,
        response=StockLine,
        auth="admin",
        params={"sku": INT_PARAM},
    )
    async def set_stock(request: web.Request) -> web.Response:
        """Set the units on hand in a warehouse (reserved ones included): 409 when that is
        below the units reserved there, 404 for a warehouse the shop does not have."""
        await admin(request, service.auth)
        sku, warehouse = int_param(request, "sku"), request.match_info["warehouse"].strip()
        if not warehouse or len(warehouse) > 64:
            raise InvalidRequest("warehouse must be 1..64 characters")
        req = await read_body(request, StockSetRequest)
        await product(sku)
        if not await keeper.warehouse_known(warehouse):
            raise NotFound(f"Warehouse not found: {warehouse}")
        line = await service.transaction(partial(_count, keeper, sku, warehouse, req.on_hand))
        return reply(views.stock_line(line))


async def _count(keeper: StockKeeper, sku: int, warehouse: str, on_hand: int, tx: Tx) -> Doc:
    line = await keeper.stocks.count(sku, warehouse, on_hand, keeper.now(), tx.session)
    assert line is not None  # noqa: S101 - an admin count is never ignored
    return line
