"""Who may create holds (servicekit.holds) and how much one order may hold (order_svc.checkout)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from order_svc.checkout import check_units
from servicekit.errors import Conflict, Forbidden
from servicekit.holds import OWNER_HEADER, holder_headers, holder_owner, is_holder
from servicekit.identity import Caller

TOKEN = "holds-token"
ANNA = Caller(username="anna")


def request(headers: dict[str, str]) -> web.Request:
    return make_mocked_request("POST", "/reservations", headers=headers)


def test_only_the_configured_bearer_token_is_a_holder():
    assert is_holder(request(holder_headers(TOKEN, "anna")), TOKEN)
    assert not is_holder(request({"Authorization": "Bearer guess"}), TOKEN)
    assert not is_holder(request({"Authorization": f"Basic {TOKEN}"}), TOKEN)
    assert not is_holder(request({}), TOKEN)


def test_an_empty_configured_token_accepts_nobody():
    assert not is_holder(request({"Authorization": "Bearer "}), "")
    assert not is_holder(request({}), "")


def test_the_holder_names_the_owner_else_the_session_is_the_owner():
    assert holder_owner(request(holder_headers(TOKEN, "boris")), TOKEN, ANNA) == "boris"
    alone = {"Authorization": f"Bearer {TOKEN}"}
    assert holder_owner(request(alone), TOKEN, ANNA) == "anna"


def test_a_customer_naming_an_owner_without_the_token_is_refused():
    with pytest.raises(Forbidden):
        holder_owner(request({OWNER_HEADER: "anna"}), TOKEN, ANNA)


def order(*items: tuple[int, int]) -> dict[str, object]:
    return {
        "items": [
            {"id": n, "productId": pid, "name": "x", "price": 100, "quantity": qty}
            for n, (pid, qty) in enumerate(items, 1)
        ]
    }


def test_units_of_one_product_are_summed_across_positions_and_capped():
    assert check_units(order((7, 4), (8, 10)), 10) == {7: 4, 8: 10}
    with pytest.raises(Conflict, match="product 7 has 11"):
        check_units(order((7, 6), (7, 5)), 10)
