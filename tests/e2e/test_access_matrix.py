"""Issue 15, "keep them closed": every documented path of every edge, asked by a guest, by
customer B, by an admin and by customer A, about A's objects (A's order, payment, refund,
notification, saved card, picking and delivery case, saga ...), answers the class the table
below says. Service-credential paths (the warehouse's and the pickup points' tokens, the
reports' X-Api-Key, the signed bank, carrier and SMS callbacks) refuse every session without
their credential; with it they let the call through. A documented path without a row fails
the test, so a new route has to say who may call it.

One request per cell: bodies are valid but harmless (a stale version, a code that is wrong, a
status move the guards refuse), or the cell expects a 4xx."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import REPORT_KEY, System
from tests.support.access import CALLERS, Row, documented, fill, matches, status_of
from tests.support.kafka import eventually
from tests.support.money import make_admin, registered_shoppers
from trials.shoppers.inbox import wait_for_codes
from trials.shoppers.shopper import FINAL, Shopper

BEARER = "Authorization"
FRESH_KEY = (("Idempotency-Key", "<fresh>"),)

AUTH, BILLING, NOTIFY, STORE = "auth_svc", "billing_svc", "notification_svc", "store_svc"
DELIVERY, PAYMENT, ORDER, SAGAS = "delivery_svc", "payment_svc", "order_svc", "orchestra"


def r(edge: str, op: str, expect: str, url: str = "", body: Any = None, **kw: Any) -> Row:
    method, path = op.split(" ", 1)
    return Row(edge, method, path, url or path, expect, body, **kw)


# cells: guest, B, admin, A. A's objects answer 404 to B (never 403: B learns nothing); an
# admin reads and acts on any customer's order, payment, notification and holds through the
# customer's own paths too (order_svc's and payment_svc's `owned`), so an admin's cell on A's
# object is A's answer.
TABLE = [
    # -- auth_svc: the accounts -------------------------------------------------------------
    r(AUTH, "POST /register", "409 409 409 409", body="<taken>"),
    # a taken e-mail or phone answers like a new one (issue 15 #11: no user enumeration)
    r(AUTH, "POST /register/email", "2xx 2xx 2xx 2xx", body="<taken>"),
    r(AUTH, "POST /register/phone", "2xx 2xx 2xx 2xx", body="<taken>"),
    r(AUTH, "POST /login", "401 401 401 401", body="<wrong_login>"),
    r(AUTH, "POST /login/email", "401 401 401 401", body="<wrong_email_login>"),
    r(AUTH, "POST /login/phone", "401 401 401 401", body="<wrong_phone_login>"),
    r(AUTH, "GET /auth", "401 2xx 2xx 2xx"),
    r(AUTH, "GET /users/me", "401 2xx 2xx 2xx"),
    r(AUTH, "PATCH /users/me", "401 2xx 2xx 2xx", body={"lastName": "Shopper"}),
    r(
        AUTH,
        "POST /password/change",
        "401 401 401 401",
        body={"currentPassword": "not-the-password", "newPassword": "another-pass-2"},
    ),
    r(AUTH, "POST /password/reset/request", "202 202 202 202", body={"email": "<nobody_mail>"}),
    r(
        AUTH,
        "POST /password/reset/confirm",
        "400 400 400 400",
        body={"resetToken": "not-a-token", "newPassword": "another-pass-2"},
    ),
    r(AUTH, "POST /verify/{channel}/send", "401 2xx 2xx 2xx", url="/verify/email/send"),
    r(
        AUTH,
        "POST /verify/{channel}/confirm",
        "401 400 400 400",
        url="/verify/email/confirm",
        body={"code": "000000"},
    ),
    r(AUTH, "GET /admin/users", "401 403 2xx 403"),
    r(AUTH, "POST /admin/users/{username}/block", "401 403 2xx 403", "/admin/users/<victim>/block"),
    r(
        AUTH,
        "POST /admin/users/{username}/unblock",
        "401 403 2xx 403",
        "/admin/users/<victim>/unblock",
    ),
    r(
        AUTH,
        "POST /admin/users/{username}/grant-admin",
        "401 403 404 403",
        "/admin/users/nobody-at-all/grant-admin",
    ),
    # -- billing_svc: wallets and gift cards ----------------------------------------------
    r(BILLING, "GET /wallet", "401 2xx 2xx 2xx"),
    r(BILLING, "GET /gift-cards", "401 2xx 2xx 2xx"),
    r(BILLING, "GET /gift-cards/{id}", "401 404 404 2xx", "/gift-cards/<gift_card>"),
    # A's code, activated by A already
    r(BILLING, "POST /gift-cards/activate", "401 409 409 409", body={"code": "<gift_code>"}),
    # -- notification_svc ------------------------------------------------------------------
    r(NOTIFY, "GET /notifications/preferences", "401 2xx 2xx 2xx"),
    r(NOTIFY, "PUT /notifications/preferences", "401 2xx 2xx 2xx", body="<preferences>"),
    r(NOTIFY, "POST /notifications/sms/receipts", "401 401 401 401", body="<receipt>"),
    r(NOTIFY, "GET /notifications/{id}", "401 404 2xx 2xx", "/notifications/<notification>"),
    r(NOTIFY, "GET /notifications", "401 2xx 2xx 2xx"),
    # -- store_svc: catalog, stock, reservations, picking ---------------------------------
    r(STORE, "GET /products", "2xx 2xx 2xx 2xx"),
    r(STORE, "GET /products/{id}", "2xx 2xx 2xx 2xx", "/products/<product>"),
    r(
        STORE,
        "PUT /products/{id}/discount",
        "401 403 2xx 403",
        "/products/<product>/discount",
        {"percent": 0},
    ),
    r(STORE, "GET /stocks/{sku}", "2xx 2xx 2xx 2xx", "/stocks/<product>"),
    r(STORE, "GET /stock/{sku}", "401 403 2xx 403", "/stock/<product>"),
    r(
        STORE,
        "PUT /stock/{sku}/{warehouse}",
        "401 403 2xx 403",
        "/stock/<product>/msk-1",
        {"onHand": "<on_hand>"},
    ),
    r(STORE, "POST /reservations", "401 403 403 403", body="<reservation>"),
    r(STORE, "GET /reservations/{orderId}", "401 404 2xx 2xx", "/reservations/<spare>"),
    r(STORE, "DELETE /reservations/{orderId}", "401 404 2xx 2xx", "/reservations/<spare>"),
    r(
        STORE,
        "GET /picking",
        "401 403 2xx 403",
        token="warehouse",
        token_expect="2xx",
    ),
    r(
        STORE,
        "GET /picking/{orderId}",
        "401 403 2xx 403",
        "/picking/<order>",
        token="warehouse",
        token_expect="2xx",
    ),
    r(
        STORE,
        "PUT /picking/{orderId}/status",
        "401 403 409 403",
        "/picking/<order>/status",
        {"status": "PICKING"},
        token="warehouse",
        token_expect="409",
    ),
    # -- delivery_svc ------------------------------------------------------------------------
    r(DELIVERY, "GET /pickup-points", "2xx 2xx 2xx 2xx"),
    r(DELIVERY, "GET /couriers", "2xx 2xx 2xx 2xx"),
    r(DELIVERY, "POST /quotes", "401 2xx 2xx 2xx", body="<quote>"),
    r(DELIVERY, "POST /slots", "401 403 403 403", body="<slot>"),
    r(DELIVERY, "GET /slots/{orderId}", "401 404 404 2xx", "/slots/<spare>"),
    r(DELIVERY, "DELETE /slots/{orderId}", "401 404 404 2xx", "/slots/<spare>"),
    r(DELIVERY, "GET /cases/{orderId}", "401 404 2xx 2xx", "/cases/<order>"),
    r(
        DELIVERY,
        "PUT /cases/{orderId}/status",
        "401 403 2xx 403",
        "/cases/<order>/status",
        {"status": "IN_TRANSIT"},  # the status it is in: nothing moves
    ),
    r(
        DELIVERY,
        "POST /pickup-points/{pointId}/arrivals",
        "401 401 401 401",
        "/pickup-points/<point>/arrivals",
        {"orderId": "<spare>"},
        token="pickup",
        token_expect="404",
    ),
    r(
        DELIVERY,
        "POST /pickups",
        "401 403 409 403",
        body={"orderId": "<order>", "code": "000000"},
        token="pickup",
        token_expect="409",
    ),
    r(DELIVERY, "POST /carrier/events", "401 401 401 401", body="<carrier_event>"),
    # -- payment_svc -------------------------------------------------------------------------
    r(PAYMENT, "POST /pay", "401 404 409 409", body="<pay>", headers=FRESH_KEY),
    r(PAYMENT, "POST /top-ups", "401 400 400 400", body={"amount": 0, "method": "BANK_CARD"}),
    r(PAYMENT, "GET /payments/{paymentId}", "401 404 2xx 2xx", "/payments/<payment>"),
    r(PAYMENT, "GET /payments/{paymentId}/qr.svg", "401 404 404 404", "/payments/<payment>/qr.svg"),
    r(PAYMENT, "POST /bank/callbacks", "401 401 401 401", body="<bank_callback>"),
    r(PAYMENT, "GET /means", "401 2xx 2xx 2xx"),
    r(PAYMENT, "POST /means/cards", "401 400 400 400", body={"card": {"number": "1"}}),
    r(PAYMENT, "DELETE /means/cards/{meansId}", "401 404 404 2xx", "/means/cards/<card>"),
    r(PAYMENT, "POST /refunds", "401 403 400 403", body="<refund_request>"),
    r(PAYMENT, "GET /refunds/{refundId}", "401 404 2xx 2xx", "/refunds/<refund>"),
    # -- order_svc ---------------------------------------------------------------------------
    r(ORDER, "POST /place", "401 400 400 400", body={"id": "<new_id>", "orderItems": []}),
    r(ORDER, "PUT /adjust", "401 404 409 409", body="<adjust>"),
    r(ORDER, "PUT /cancel", "401 404 409 409", body={"id": "<spare>", "version": 0}),
    r(ORDER, "GET /get", "401 404 2xx 2xx", "/get?orderId=<order>"),
    r(ORDER, "GET /orders", "401 2xx 2xx 2xx"),
    r(ORDER, "PUT /checkout", "401 404 409 409", body="<checkout>", headers=FRESH_KEY),
    r(ORDER, "PUT /process", "401 404 409 409", body={"id": "<spare>", "version": 0}),
    r(ORDER, "POST /gift-card-orders", "401 400 400 400", body={"amount": 1}),
    r(ORDER, "GET /admin/orders", "401 403 2xx 403"),
    r(ORDER, "GET /admin/orders/{id}", "401 403 2xx 403", "/admin/orders/<order>"),
    r(
        ORDER,
        "PUT /admin/orders/{id}/status",
        "401 403 409 403",
        "/admin/orders/<order>/status",
        {"status": "NEW"},
    ),
    r(
        ORDER,
        "POST /admin/orders/{id}/return",
        "401 403 409 403",
        "/admin/orders/<order>/return",
        {"reason": "matrix"},
    ),
    r(ORDER, "GET /admin/actions", "401 403 2xx 403"),
    r(ORDER, "POST /reports", "401 403 202 403", body={}, token="report", token_expect="202"),
    r(
        ORDER,
        "GET /reports/{id}",
        "401 403 2xx 403",
        "/reports/<report>",
        token="report",
        token_expect="2xx",
    ),
    r(
        ORDER,
        "GET /reports/{id}/file",
        "401 403 2xx|409 403",
        "/reports/<report>/file",
        token="report",
        token_expect="2xx|409",
    ),
    # -- orchestra ---------------------------------------------------------------------------
    r(SAGAS, "GET /sagas/{orderId}", "401 403 2xx 403", "/sagas/<order>"),
    r(SAGAS, "GET /sagas", "401 403 2xx 403"),
    # -- last: the logouts end the sessions the cells above used ----------------------------
    # seed 001's GET logout is kept for its clients (a cross-site one is refused)
    r(AUTH, "GET /logout", "2xx 2xx 2xx 2xx"),
    r(AUTH, "POST /logout", "2xx 2xx 2xx 2xx"),
]


@dataclass
class World:
    system: System
    sessions: dict[str, str]  # caller -> sessionId ("" for the guest)
    tokens: dict[str, tuple[str, str]]  # credential -> (header, value)
    objects: dict[str, Any]


def session_of(s: Shopper) -> str:
    assert s.http is not None
    for morsel in s.http.cookie_jar:
        if morsel.key == "sessionId":
            return morsel.value
    raise AssertionError(f"{s.name} has no session")


async def confirmed_and_handed_over(system: System, a: Shopper, admin: Shopper) -> dict[str, Any]:
    """A's paid order, confirmed, its picking case moved to handed_over by the admin so its
    delivery case opens."""
    product = await system.add_product(f"Матрица {uuid.uuid4().hex[:6]}", 1000, {"msk-1": 5})
    order = await a.checkout(await a.place(product), "pickup")
    paid = await a.pay(order)
    assert paid["status"] == "SUCCEEDED", paid
    order = await a.wait_status(order["id"], FINAL, timeout=60)
    assert order["status"] == "CONFIRMED", order

    async def case_opened() -> bool:
        try:
            await admin.call(STORE, "GET", f"/picking/{order['id']}")
        except Exception:
            return False
        return True

    await eventually(case_opened, timeout=30)
    for step in ("PICKING", "PICKED", "HANDED_OVER"):
        await admin.call(STORE, "PUT", f"/picking/{order['id']}/status", {"status": step})

    async def delivery_opened() -> bool:
        try:
            await a.call(DELIVERY, "GET", f"/cases/{order['id']}")
        except Exception:
            return False
        return True

    await eventually(delivery_opened, timeout=30)
    return {"order": order, "product": product, "payment": paid["paymentId"]}


async def gift_card_of(buyer: Shopper, owner: Shopper, sent: Path) -> tuple[str, str]:
    """A gift card `buyer` gives `owner`, activated by `owner`: its id and its code."""
    order = await buyer.order_gift_card(50_000, owner.email)
    assert (await buyer.pay(order))["status"] == "SUCCEEDED"
    [code] = await wait_for_codes(sent, owner.email, timeout=30)
    card = await owner.activate(code)
    return str(card["id"]), code


@pytest.fixture(scope="module")
async def world(system: System) -> AsyncIterator[World]:
    async with registered_shoppers(system.urls) as new:
        a, b, admin, victim = await new(), await new(), await new(), await new()
        await make_admin(system.stack, admin)
        lived = await confirmed_and_handed_over(system, a, admin)
        order, product = lived["order"], lived["product"]
        spare = await a.checkout(await a.place(product), "pickup")
        card = await a.save_card()
        gift_card, gift_code = await gift_card_of(b, a, system.stack.state / "sent")
        refund = await admin.refund(lived["payment"], 1, reason="matrix")
        report = await admin.call(ORDER, "POST", "/reports", {}, expect=(202,))
        notices = await eventually(lambda: _first_notification(a), timeout=30)
        preferences = await a.call(NOTIFY, "GET", "/notifications/preferences")
        stock = await admin.call(STORE, "GET", f"/stock/{product}")
        point = (await a.call(DELIVERY, "GET", "/pickup-points"))["items"][0]["id"]
        choice = await a.delivery_choice("pickup")
        objects: dict[str, Any] = {
            "order": order["id"],
            "spare": spare["id"],
            "product": product,
            "payment": lived["payment"],
            "refund": refund["refundId"],
            "report": report["reportId"],
            "card": card["id"],
            "gift_card": gift_card,
            "gift_code": gift_code,
            "notification": notices,
            "point": point,
            "victim": victim.name,
            "on_hand": _on_hand(stock, "msk-1"),
            "nobody_mail": f"nobody-{uuid.uuid4().hex[:8]}@example.com",
            "new_id": str(uuid.uuid4()),
            "preferences": {"channels": preferences["channels"]},
            "taken": {
                "username": a.name,
                "firstName": "Test",
                "lastName": "Shopper",
                "email": a.email,
                "phone": a.phone,
                "password": "shopper-pass-1",
            },
            "wrong_login": {"username": f"nobody_{uuid.uuid4().hex[:8]}", "password": "x" * 12},
            "wrong_email_login": {"email": "<nobody_mail>", "password": "x" * 12},
            "wrong_phone_login": {"phone": "+79990000001", "password": "x" * 12},
            "receipt": {"messageId": "m-1", "status": "delivered"},
            "carrier_event": {"shipmentId": "s-1", "status": "DELIVERED"},
            "bank_callback": {"paymentId": lived["payment"], "status": "SUCCEEDED"},
            "reservation": {
                "orderId": spare["id"],
                "items": [{"productId": product, "quantity": 1}],
            },
            "slot": {"orderId": spare["id"], "delivery": choice},
            "quote": {"address": "Москва, ул. Тверская, д. 7", "courierCompany": "cdek"},
            "pay": {"orderId": order["id"], "method": "WALLET"},
            "refund_request": {"paymentId": lived["payment"], "amount": 10**12, "reason": "x"},
            "adjust": {
                "id": spare["id"],
                "version": 0,
                "orderItems": [{"product": {"id": product}, "quantity": 1}],
            },
            "checkout": {
                "id": spare["id"],
                "version": 0,
                "phone": a.phone,
                "delivery": choice,
            },
        }
        sessions = {
            "guest": "",
            "A": session_of(a),
            "B": session_of(b),
            "admin": session_of(admin),
        }
        env = system.stack.procs[STORE].env
        tokens = {
            "warehouse": (BEARER, f"Bearer {env['SAGASHOP_WAREHOUSE_TOKEN']}"),
            "pickup": (BEARER, f"Bearer {env['SAGASHOP_PICKUP_TOKEN']}"),
            "report": ("X-Api-Key", REPORT_KEY),
        }
        yield World(system, sessions, tokens, objects)


async def _first_notification(s: Shopper) -> str | None:
    page = await s.call(NOTIFY, "GET", "/notifications")
    return str(page["items"][0]["id"]) if page["items"] else None


def _on_hand(lines: dict[str, Any], warehouse: str) -> int:
    for line in lines["lines"]:
        if line["warehouseId"] == warehouse:
            return int(line["onHand"])
    raise AssertionError(f"no {warehouse} line in {lines}")


async def test_every_documented_path_of_every_edge_has_a_row_and_every_row_a_path(
    world: World,
) -> None:
    edges = {row.edge for row in TABLE}
    rows = {row.key for row in TABLE}
    assert len(rows) == len(TABLE), "a path has two rows"
    async with aiohttp.ClientSession() as http:
        paths = {
            (edge, method, path)
            for edge in sorted(edges)
            for method, path in await documented(http, world.system.urls[edge])
        }
    assert sorted(paths - rows) == [], "documented paths without a row in the table"
    assert sorted(rows - paths) == [], "rows for paths no edge documents"


def calls(row: Row, world: World) -> list[tuple[str, dict[str, str], dict[str, str], str]]:
    """(caller, cookies, headers, expected class) for each cell of `row`."""
    headers = dict(row.headers)
    out = [
        (who, {"sessionId": world.sessions[who]} if world.sessions[who] else {}, headers, want)
        for who, want in row.cells().items()
    ]
    if row.token:
        name, value = world.tokens[row.token]
        out.append((f"{row.token} token", {}, {**headers, name: value}, row.token_expect))
        # another service's credential opens nothing here
        for other, (other_name, other_value) in world.tokens.items():
            if other != row.token:
                out.append((f"{other} token", {}, {**headers, other_name: other_value}, "401|403"))
    return out


async def test_each_caller_gets_the_answer_the_table_says_on_every_path(world: World) -> None:
    wrong: list[str] = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        for row in TABLE:
            url = world.system.urls[row.edge] + fill(row.url, world.objects)
            for who, cookies, headers, want in calls(row, world):
                body = fill(row.body, world.objects)
                sent = {k: fill(v, world.objects) for k, v in headers.items()}
                status, text = await status_of(http, row.method, url, body, sent, cookies)
                if not matches(status, want):
                    wrong.append(f"{row.method} {row.path} as {who}: {status}, want {want}: {text}")
    assert wrong == [], "\n".join(wrong)


def test_the_table_has_a_cell_for_every_caller() -> None:
    for row in TABLE:
        assert set(row.cells()) == set(CALLERS)
        assert bool(row.token) == bool(row.token_expect), row.key
