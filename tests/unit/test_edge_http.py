"""servicekit.http at the edge of every service: path and query integers that int() or BSON
would refuse, bodies not sent as JSON, and the digest an Idempotency-Key is compared by
(issue #15, items 7, 9 and 12)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, Field

from servicekit.errors import DomainError
from servicekit.http import MAX_INT, body_digest, int_param, read_body, read_query, reply


class Line(BaseModel):
    product_id: int = Field(ge=1)
    quantity: int = 1


class Basket(BaseModel):
    lines: tuple[Line, ...] = ()
    note: str = ""


class Page(BaseModel):
    page: int = Field(default=0, ge=0)


def answer_errors(handler: Any) -> Any:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except DomainError as exc:
            return reply({"errorMessage": exc.message}, status=exc.status)

    return wrapped


@pytest.fixture
async def edge() -> AsyncIterator[TestClient[Any, Any]]:
    async def product(request: web.Request) -> web.Response:
        return reply({"id": int_param(request, "id")})

    async def basket(request: web.Request) -> web.Response:
        body = await read_body(request, Basket)
        return reply({"lines": len(body.lines), "digest": body_digest()})

    async def page(request: web.Request) -> web.Response:
        return reply({"page": read_query(request, Page).page})

    app = web.Application()
    app.router.add_get("/products/{id}", answer_errors(product))
    app.router.add_post("/basket", answer_errors(basket))
    app.router.add_get("/page", answer_errors(page))
    async with TestClient(TestServer(app)) as client:
        yield client


async def status_of(resp: Any) -> tuple[int, Any]:
    return resp.status, await resp.json()


@pytest.mark.parametrize(
    "raw", ["²", "٣", "1²", "0", "-1", "+1", " 1", "1_000", str(MAX_INT + 1), "9" * 30]
)
async def test_a_path_integer_that_is_not_plain_ascii_digits_in_range_is_a_400(
    edge: TestClient[Any, Any], raw: str
) -> None:
    status, body = await status_of(await edge.get(f"/products/{raw}"))
    assert status == 400 and "id must be an integer" in body["errorMessage"], (raw, body)


async def test_a_path_integer_up_to_the_largest_json_safe_one_is_taken(
    edge: TestClient[Any, Any],
) -> None:
    assert await status_of(await edge.get("/products/42")) == (200, {"id": 42})
    assert await status_of(await edge.get(f"/products/{MAX_INT}")) == (200, {"id": MAX_INT})


async def test_a_query_integer_past_what_the_database_stores_is_a_400(
    edge: TestClient[Any, Any],
) -> None:
    status, body = await status_of(await edge.get("/page?page=100000000000000000000"))
    assert status == 400 and body["errorMessage"].startswith("page:"), body
    assert await status_of(await edge.get("/page?page=3")) == (200, {"page": 3})


async def test_a_body_integer_past_what_the_database_stores_is_a_400_naming_where(
    edge: TestClient[Any, Any],
) -> None:
    huge = {"lines": [{"product_id": 1}, {"product_id": 2**64}]}
    status, body = await status_of(await edge.post("/basket", json=huge))
    assert status == 400 and body["errorMessage"].startswith("lines.1.product_id:"), body


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_a_json_body_not_sent_as_application_json_is_a_415(
    edge: TestClient[Any, Any], content_type: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    resp = await edge.post("/basket", data=b'{"lines": []}', headers=headers)
    status, body = await status_of(resp)
    assert status == 415 and "application/json" in body["errorMessage"], body


async def test_a_json_body_with_a_charset_is_read(edge: TestClient[Any, Any]) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    resp = await edge.post("/basket", data=b'{"lines": [{"product_id": 3}]}', headers=headers)
    assert (await status_of(resp))[0] == 200


async def test_the_body_digest_ignores_spelling_and_tells_other_bodies_apart(
    edge: TestClient[Any, Any],
) -> None:
    async def digest(raw: bytes) -> str:
        headers = {"Content-Type": "application/json"}
        resp = await edge.post("/basket", data=raw, headers=headers)
        body = await resp.json()
        return str(body["digest"])

    first = await digest(b'{"note": "x", "lines": [{"product_id": 3}]}')
    assert first and first == await digest(b'{"lines":[{"quantity":1,"product_id":3}],"note":"x"}')
    assert first != await digest(b'{"note": "x", "lines": [{"product_id": 4}]}')


@pytest.mark.parametrize("raw", ["²", "٣", "0", "-5", "1.5", str(MAX_INT + 1)])
def test_payment_means_amount_query_that_is_not_plain_digits_in_range_is_a_400_not_a_500(
    raw: str,
) -> None:
    from urllib.parse import quote

    from aiohttp.test_utils import make_mocked_request

    from payment_svc.means import _amount

    with pytest.raises(DomainError, match="amount: a positive whole number") as caught:
        _amount(make_mocked_request("GET", f"/means?amount={quote(raw)}"))
    assert caught.value.status == 400
    assert _amount(make_mocked_request("GET", "/means?amount=150000")) == 150000
