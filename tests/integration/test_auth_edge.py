"""auth_svc over HTTP on the real broker and database: seed 001's contract (paths, bodies,
codes, the sessionId cookie), sessions, brute-force limits, roles, password flows."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from launcher.processes import ServiceProcess
from schemas import topics
from tests.conftest import start_service
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import read_topic


@pytest.fixture(scope="module")
async def auth(infra: Infra) -> AsyncIterator[ServiceProcess]:
    proc = start_service(
        infra, "auth_svc", Path(tempfile.mkdtemp()), env={"SAGASHOP_TRUST_FORWARDED": "true"}
    )
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture
async def client(auth: ServiceProcess) -> AsyncIterator[Client]:
    # every test comes from its own client address, so address limits never mix tests
    c = Client(auth.url, headers={"X-Forwarded-For": f"10.9.{uuid.uuid4().int % 250}.7"})
    yield c
    await c.close()


def new_user(**overrides: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "username": f"user_{tag}",
        "firstName": "Ivan",
        "lastName": "Petrov",
        "email": f"Ivan.{tag}@Example.com",
        "phone": f"+7999{int(tag, 16) % 10**7:07d}",
        "password": "qwerty1234",
        **overrides,
    }


async def registered(client: Client, **overrides: str) -> dict[str, str]:
    user = new_user(**overrides)
    status, body = await client.post("/register", user)
    assert status == 200, body
    return user


async def test_register_answers_the_user_and_a_second_registration_gets_409(client: Client):
    user = new_user()
    status, body = await client.post("/register", user)
    assert status == 200
    assert body["username"] == user["username"]
    assert body["email"] == user["email"].lower()
    assert {"firstName", "lastName", "phone"} <= body.keys() and "password" not in body
    status, body = await client.post("/register", user)
    assert (status, body) == (409, {"errorMessage": "User already exists"})


@pytest.mark.parametrize("missing", ["username", "password", "email"])
async def test_register_without_username_password_or_email_gets_the_seed_400(
    client: Client, missing: str
):
    user = new_user()
    del user[missing]
    status, body = await client.post("/register", user)
    assert (status, body) == (400, {"errorMessage": "Username, password, email should be provided"})


async def test_register_accepts_the_seed_yaml_spelling_fistname(client: Client):
    user = new_user()
    user["fistName"] = user.pop("firstName")
    status, body = await client.post("/register", user)
    assert status == 200 and body["firstName"] == "Ivan"


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not-an-email"), ("phone", "12ab"), ("password", "short"), ("phone", "")],
)
async def test_register_with_a_bad_field_gets_400_and_creates_no_account(
    client: Client, field: str, value: str
):
    user = new_user(**{field: value})
    status, body = await client.post("/register", user)
    assert status == 400 and body["errorMessage"]
    status, _ = await client.post("/login", {"username": user["username"], "password": "x"})
    assert status == 401


async def test_one_account_per_email_whatever_its_case_and_per_phone_without_telling_so(
    client: Client,
):
    user = await registered(client)
    same_email = new_user(email=user["email"].upper())
    same_phone = new_user(phone="8" + user["phone"][2:])  # the same number written the 8-way
    for taken in (same_email, same_phone):
        # answered like a success (no enumeration of contacts), but no account is made
        status, body = await client.post("/register", taken)
        assert status == 200 and body["username"] == taken["username"]
        login = {"username": taken["username"], "password": taken["password"]}
        assert (await client.post("/login", login))[0] == 401


async def test_register_login_auth_logout_round_trip(client: Client):
    user = await registered(client)
    status, body = await client.post(
        "/login", {"username": user["username"], "password": user["password"]}
    )
    assert status == 200 and body["username"] == user["username"]
    assert client.cookie("sessionId")
    cookie_header = client.last.headers.getall("Set-Cookie")[0] if client.last else ""
    assert "HttpOnly" in cookie_header and "SameSite=Lax" in cookie_header

    status, body = await client.get("/auth")
    assert status == 200
    assert {k: body[k] for k in ("username", "firstName", "lastName", "email", "phone")} == {
        "username": user["username"],
        "firstName": "Ivan",
        "lastName": "Petrov",
        "email": user["email"].lower(),
        "phone": user["phone"],
    }

    session = client.cookie("sessionId")
    assert (await client.get("/logout"))[0] == 200
    assert not client.cookie("sessionId")
    client.set_cookie("sessionId", session or "")
    assert await client.get("/auth") == (401, {"errorMessage": "User not authorized"})


async def test_auth_without_or_with_a_made_up_session_is_401(client: Client):
    assert (await client.get("/auth"))[0] == 401
    client.set_cookie("sessionId", "made-up")
    assert (await client.get("/auth"))[0] == 401


async def test_login_without_password_is_400_and_with_a_wrong_one_401(client: Client):
    user = await registered(client)
    assert await client.post("/login", {"username": user["username"]}) == (
        400,
        {"errorMessage": "Username and password should be provided"},
    )
    assert await client.post("/login", {"username": user["username"], "password": "nope1234"}) == (
        401,
        {"errorMessage": "Invalid login/password"},
    )
    assert (await client.post("/login", {"username": "nobody_x", "password": "nope1234"}))[0] == 401


async def test_a_new_login_invalidates_the_old_session(auth: ServiceProcess, client: Client):
    user = await registered(client)
    creds = {"username": user["username"], "password": user["password"]}
    await client.post("/login", creds)
    old = client.cookie("sessionId") or ""
    other = Client(auth.url)
    try:
        other.set_cookie("oldSessionId", old)
        assert (await other.post("/login", creds))[0] == 200
        assert (await other.get("/auth"))[0] == 200
    finally:
        await other.close()
    assert (await client.get("/auth"))[0] == 401


async def test_login_by_email_and_by_phone(client: Client):
    user = await registered(client)
    status, _ = await client.post(
        "/login/email", {"email": user["email"].upper(), "password": user["password"]}
    )
    assert status == 200
    status, _ = await client.post(
        "/login/phone", {"phone": user["phone"], "password": user["password"]}
    )
    assert status == 200
    status, _ = await client.post(
        "/login", {"username": user["email"], "password": user["password"]}
    )
    assert status == 200


async def test_register_by_phone_makes_the_phone_the_login(client: Client):
    user = new_user()
    del user["username"]
    status, body = await client.post("/register/phone", user)
    assert status == 200 and body["username"] == user["phone"]


async def test_five_failed_logins_make_the_next_from_that_address_wait_with_429_and_retry_after(
    client: Client,
):
    user = await registered(client)
    for _ in range(5):
        assert (
            await client.post("/login", {"username": user["username"], "password": "wrong123"})
        )[0] == 401
    status, body = await client.post(
        "/login", {"username": user["username"], "password": user["password"]}
    )
    assert status == 429 and body["errorMessage"]
    assert client.last is not None and 0 < int(client.last.headers["Retry-After"]) <= 15 * 60


async def test_twenty_failures_from_one_address_lock_that_address(auth: ServiceProcess):
    addr = {"X-Forwarded-For": f"10.77.{uuid.uuid4().int % 250}.1"}
    attacker, victim = Client(auth.url, headers=addr), Client(auth.url)
    try:
        user = await registered(victim)
        for i in range(20):
            status, _ = await attacker.post(
                "/login", {"username": f"ghost{i}_{uuid.uuid4().hex}", "password": "wrong123"}
            )
            assert status == 401
        creds = {"username": user["username"], "password": user["password"]}
        assert (await attacker.post("/login", creds))[0] == 429
        assert (await victim.post("/login", creds))[0] == 200
    finally:
        await attacker.close()
        await victim.close()


async def test_registration_publishes_one_account_creation_event_with_the_seed_fields(
    infra: Infra, client: Client
):
    user = await registered(client)
    records = await read_topic(
        infra.kafka_bootstrap, topics.USER_REGISTERED.name, expect=10**6, timeout=3
    )
    mine = [json.loads(r.value) for r in records if r.key == user["username"].encode()]
    assert mine == [
        {
            "username": user["username"],
            "firstName": "Ivan",
            "lastName": "Petrov",
            "email": user["email"].lower(),
            "phone": user["phone"],
        }
    ]
