"""order_svc's holds credential in tests that call store_svc's `POST /reservations` or
delivery_svc's `POST /slots` directly, as order_svc's checkout does (servicekit.holds)."""

from __future__ import annotations

from tests.support.http import Client

HOLDS_TOKEN = "test-holds-token"
HOLDS_ENV = {"SAGASHOP_HOLDS_TOKEN": HOLDS_TOKEN}
HOLDER = {"Authorization": f"Bearer {HOLDS_TOKEN}"}


def as_holder(client: Client) -> Client:
    """The client's every call carries the credential (its session still says who it is)."""
    client.http.headers.update(HOLDER)
    return client
