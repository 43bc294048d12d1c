"""Issue 15, "keep them closed": schemathesis against every edge of a running system. Each
documented operation gets a few generated requests (valid ones and ones that break the
schema), with an admin's session and a fixed seed; no answer may be a server error, and every
documented answer must match its documented schema. Issue 17: before them, the same system's
answers are checked against docs/conventions.md."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.conftest import System
from tests.support.conventions import (
    TIMESTAMP,
    answer_breaks,
    document_breaks,
    error_breaks,
    walk,
)
from tests.support.fuzz import Findings, fuzz_edge
from tests.support.money import make_admin, registered_shoppers
from trials.shoppers.shopper import Shopper

EDGES = (
    "auth_svc",
    "billing_svc",
    "notification_svc",
    "store_svc",
    "delivery_svc",
    "payment_svc",
    "order_svc",
    "orchestra",
)


@pytest.fixture(scope="module")
async def admin(system: System) -> AsyncIterator[Shopper]:
    """An admin, with a product in the catalog for the ids to find."""
    await system.add_product("Фазз", 1000, {"msk-1": 50})
    async with registered_shoppers(system.urls) as new:
        yield await make_admin(system.stack, await new())


@pytest.fixture(scope="module")
def admin_session(admin: Shopper) -> str:
    """The admin's `sessionId`."""
    assert admin.http is not None
    return next(m.value for m in admin.http.cookie_jar if m.key == "sessionId")


async def get(admin: Shopper, url: str) -> tuple[int, Any]:
    assert admin.http is not None
    async with admin.http.get(url) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.text()


def plain_reads(edge: str, doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The GET operations a caller can send as they are: no path or required parameter (and
    not the logout a generated request would end the session with)."""
    return [
        (edge, path)
        for path, item in doc["paths"].items()
        if "get" in item
        and "{" not in path
        and "logout" not in path
        and not any(p["required"] for p in item["get"].get("parameters", ()))
    ]


def enum_filters(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, query parameter) of every GET whose parameter takes one of a list of values."""
    schemas = doc["components"]["schemas"]
    found = []
    for path, item in doc["paths"].items():
        for p in item.get("get", {}).get("parameters", ()):
            schema = p["schema"]
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            if p["in"] == "query" and "enum" in schema:
                found.append((path, p["name"]))
    return found


async def test_every_edge_answers_by_the_conventions_errors_timestamps_and_statuses(
    system: System, admin: Shopper
) -> None:
    """docs/conventions.md on the running system: each document's errors and timestamps, then
    the answers of every plain read and of an order's every part once its saga has confirmed
    it (timestamps ISO 8601 with T and Z, statuses upper-case, failures `errorMessage`), then
    errors: an unknown route, an unknown id and an unknown filter value on every edge."""
    urls, broken = system.urls, []
    docs = {edge: (await get(admin, f"{urls[edge]}/openapi.json"))[1] for edge in EDGES}
    for edge, doc in docs.items():
        broken += [f"{edge} document: {b}" for b in document_breaks(doc)]

    product = await system.add_product("Конвенции", 1500, {"msk-1": 5})
    order = await admin.checkout(await admin.place(product))
    payment = await admin.pay(order)
    oid = (await admin.wait_status(order["id"], {"CONFIRMED"}))["id"]
    reads = [read for edge, doc in docs.items() for read in plain_reads(edge, doc)] + [
        ("order_svc", f"/get?orderId={oid}"),
        ("order_svc", f"/admin/orders/{oid}"),
        ("payment_svc", f"/payments/{payment['paymentId']}"),
        ("store_svc", f"/reservations/{oid}"),
        ("store_svc", f"/picking/{oid}"),
        ("delivery_svc", f"/cases/{oid}"),
        ("delivery_svc", f"/slots/{oid}"),
        ("orchestra", f"/sagas/{oid}"),
    ]
    moments = 0
    for edge, path in reads:
        status, body = await get(admin, urls[edge] + path)
        if status != 200:
            broken.append(f"GET {edge} {path}: {status} {body}")
        broken += [f"GET {edge} {path}{b}" for b in answer_breaks(body)]
        moments += sum(isinstance(v, str) and bool(TIMESTAMP.match(v)) for _, v in walk(body))
    assert len(reads) > 20 and moments > 20, (reads, moments)

    filters = [(e, p, name) for e, doc in docs.items() for p, name in enum_filters(doc)]
    assert {("/admin/orders", "status"), ("/sagas", "state"), ("/products", "sort")} <= {
        (p, name) for _, p, name in filters
    }
    refusals = [(edge, f"{path}?{name}=NO_SUCH_VALUE", (400,)) for edge, path, name in filters] + [
        (edge, "/no/such/route", (404,)) for edge in EDGES
    ]
    refusals += [
        ("store_svc", "/picking?status=NO_SUCH_VALUE", (400,)),
        ("orchestra", "/sagas/no-such-order", (404,)),
        ("order_svc", "/get?orderId=no-such-order", (404,)),
        ("order_svc", "/get", (400,)),
        ("payment_svc", "/means?amount=-5", (400,)),
    ]
    for edge, path, wanted in refusals:
        status, body = await get(admin, urls[edge] + path)
        broken += [f"GET {edge} {path}: {b}" for b in error_breaks(status, body)]
        if status not in wanted:
            broken.append(f"GET {edge} {path}: {status}, not {wanted}")
    assert broken == [], "\n".join(broken)


@pytest.mark.parametrize("edge", EDGES)
async def test_generated_requests_get_no_server_error_and_answers_match_the_edges_schema(
    system: System, admin_session: str, edge: str
) -> None:
    findings: Findings = await asyncio.to_thread(
        fuzz_edge, system.urls[edge], {"sessionId": admin_session}
    )
    assert findings.operations > 0, f"{edge} documents no operation"
    assert findings.failures == [], "\n\n".join(findings.failures)
    # the admin's session reached the code: most answers are not "who are you?"
    assert findings.statuses[401] < findings.requests / 2, findings.statuses
    print(f"{edge}: {findings.operations} operations, {findings.requests} requests", end=" ")
    print(dict(sorted(findings.statuses.items())))
