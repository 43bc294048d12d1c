"""auth_svc against the holes of issue #15 (items 3-7, 10, 11, 14), over HTTP on the real
broker and database; auth_svc runs behind one simulated trusted proxy (X-Forwarded-For's last
entry is the client)."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters

from launcher.processes import ServiceProcess
from servicekit.mongo import utcnow
from tests.conftest import start_service
from tests.integration.test_auth_edge import new_user
from tests.integration.test_auth_flows import secret_sent_to
from tests.support.http import Client
from tests.support.infra import Infra


@pytest.fixture(scope="module")
async def auth(infra: Infra) -> AsyncIterator[ServiceProcess]:
    proc = start_service(
        infra, "auth_svc", Path(tempfile.mkdtemp()), env={"SAGASHOP_TRUSTED_PROXIES": "1"}
    )
    await proc.wait_ready()
    yield proc
    proc.kill()


def address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9"


def from_address(auth: ServiceProcess, addr: str | None = None) -> Client:
    return Client(auth.url, headers={"X-Forwarded-For": addr or address()})


@pytest.fixture
async def client(auth: ServiceProcess) -> AsyncIterator[Client]:
    c = from_address(auth)
    yield c
    await c.close()


async def register(client: Client, **overrides: str) -> dict[str, str]:
    user = new_user(**overrides)
    status, body = await client.post("/register", user)
    assert status == 200, body
    return user


async def login(client: Client, user: dict[str, str], password: str | None = None) -> int:
    creds = {"username": user["username"], "password": password or user["password"]}
    return (await client.post("/login", creds))[0]


def db(mongo: Any, auth: ServiceProcess) -> Any:
    return mongo[auth.name]


# 3 ---------------------------------------------------------------------------------------
async def test_a_password_change_ends_the_other_sessions_of_a_username_with_capitals(
    auth: ServiceProcess, client: Client
):
    user = await register(client, username=f"Ivan_CAPS_{uuid.uuid4().hex[:6]}")
    other = from_address(auth)
    try:
        assert await login(client, user) == 200 and await login(other, user) == 200
        change = {"currentPassword": user["password"], "newPassword": "brand-new-42"}
        assert (await client.post("/password/change", change))[0] == 200
        assert (await other.get("/auth"))[0] == 401
    finally:
        await other.close()


async def test_a_reset_ends_every_session_of_a_username_with_capitals(
    auth: ServiceProcess, infra: Infra, client: Client
):
    user = await register(client, username=f"Olga_CAPS_{uuid.uuid4().hex[:6]}")
    assert await login(client, user) == 200
    await client.post("/password/reset/request", {"email": user["email"]})
    token = await secret_sent_to(infra, user["username"], "password_reset")
    confirm = {"resetToken": token, "newPassword": "reset-pass-77"}
    assert (await client.post("/password/reset/confirm", confirm))[0] == 200
    assert (await client.get("/auth"))[0] == 401


# 4 ---------------------------------------------------------------------------------------
async def test_a_hundred_parallel_wrong_guesses_let_at_most_the_limit_reach_the_password_check(
    client: Client,
):
    user = await register(client)
    guesses = [login(client, user, f"wrong-{i}-x") for i in range(100)]
    codes = await asyncio.gather(*guesses)
    assert set(codes) <= {401, 429}
    assert codes.count(401) <= 5, codes


async def test_parallel_wrong_verification_codes_get_at_most_the_allowed_tries(
    infra: Infra, client: Client
):
    user = await register(client)
    assert await login(client, user) == 200
    assert (await client.post("/verify/email/send"))[0] == 202
    code = await secret_sent_to(infra, user["username"], "verification_code")
    wrong = [f"{(int(code) + i) % 10**6:06d}" for i in range(1, 51)]
    answers = await asyncio.gather(
        *(client.post("/verify/email/confirm", {"code": w}) for w in wrong)
    )
    statuses = [status for status, _ in answers]
    assert statuses.count(400) <= 5 and set(statuses) <= {400, 429}, statuses


# 5 ---------------------------------------------------------------------------------------
async def test_failures_from_one_address_do_not_lock_the_owner_out_from_another(
    auth: ServiceProcess, client: Client
):
    user = await register(client)
    attacker = from_address(auth)
    try:
        for _ in range(5):
            assert await login(attacker, user, "wrong-123") == 401
        assert await login(attacker, user) == 429
        assert attacker.last is not None and int(attacker.last.headers["Retry-After"]) >= 1
        assert await login(client, user) == 200
    finally:
        await attacker.close()


async def test_a_made_up_left_forwarded_entry_does_not_escape_the_address_limit(
    auth: ServiceProcess,
):
    real = address()
    codes = []
    for i in range(21):
        spoofing = Client(auth.url, headers={"X-Forwarded-For": f"1.2.3.{i}, {real}"})
        try:
            ghost = {"username": f"ghost_{uuid.uuid4().hex}", "password": "wrong-123"}
            codes.append((await spoofing.post("/login", ghost))[0])
        finally:
            await spoofing.close()
    assert codes == [401] * 20 + [429]


# 6 ---------------------------------------------------------------------------------------
async def test_reset_requests_to_one_address_are_limited(client: Client):
    user = await register(client)
    for _ in range(3):
        assert (await client.post("/password/reset/request", {"email": user["email"]}))[0] == 202
    other = {"email": user["email"].upper()}  # any spelling is the same target
    status, body = await client.post("/password/reset/request", other)
    assert status == 429 and body["errorMessage"]


async def test_reset_requests_from_one_client_address_are_limited(client: Client):
    statuses = [
        (await client.post("/password/reset/request", {"email": f"n{i}@example.com"}))[0]
        for i in range(31)
    ]
    assert statuses == [202] * 30 + [429]


async def test_verification_sends_to_one_channel_are_limited(client: Client):
    user = await register(client)
    assert await login(client, user) == 200
    statuses = [(await client.post("/verify/phone/send"))[0] for _ in range(4)]
    assert statuses == [202, 202, 202, 429]


async def test_registrations_naming_one_phone_are_limited(client: Client):
    phone = new_user()["phone"]
    statuses = [(await client.post("/register", new_user(phone=phone)))[0] for _ in range(4)]
    assert statuses[-1] == 429


# 7 ---------------------------------------------------------------------------------------
async def test_logout_by_post_ends_the_session(client: Client):
    user = await register(client)
    assert await login(client, user) == 200
    session = client.cookie("sessionId") or ""
    assert (await client.post("/logout"))[0] == 200
    client.set_cookie("sessionId", session)
    assert (await client.get("/auth"))[0] == 401


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "http://x.y"}],
)
async def test_a_cross_site_logout_is_refused_and_the_session_lives(
    client: Client, headers: dict[str, str]
):
    user = await register(client)
    assert await login(client, user) == 200
    for method in ("GET", "POST"):
        status, body = await client.call(method, "/logout", headers=headers)
        assert status == 403 and body["errorMessage"]
    assert (await client.get("/auth"))[0] == 200


async def test_the_cookie_is_secure_behind_tls_or_a_real_host_and_not_on_loopback_http(
    client: Client,
):
    user = await register(client)
    creds = {"username": user["username"], "password": user["password"]}

    async def cookie_flags(headers: dict[str, str]) -> str:
        assert (await client.post("/login", creds, headers=headers))[0] == 200
        assert client.last is not None
        return client.last.headers.getall("Set-Cookie")[0]

    assert "Secure" not in await cookie_flags({})
    assert "Secure" in await cookie_flags({"X-Forwarded-Proto": "https"})
    assert "Secure" in await cookie_flags({"Host": "shop.example"})


# 10 --------------------------------------------------------------------------------------
async def test_a_profile_name_over_100_characters_is_refused_and_nothing_changes(
    client: Client,
):
    user = await register(client)
    assert await login(client, user) == 200
    status, body = await client.patch("/users/me", {"lastName": "x" * 101})
    assert status == 400 and "lastName" in body["errorMessage"]
    assert (await client.get("/users/me"))[1]["lastName"] == "Petrov"


# 11 --------------------------------------------------------------------------------------
async def test_a_taken_email_or_phone_answers_like_a_success_and_creates_nothing(
    client: Client,
):
    owner = await register(client)
    for taken in ({"email": owner["email"]}, {"phone": owner["phone"]}):
        squatter = new_user(**taken)
        status, body = await client.post("/register", squatter)
        assert status == 200 and body["username"] == squatter["username"]
        assert await login(client, squatter) == 401
    assert await login(client, owner) == 200


@pytest.mark.parametrize("shape", ["someone@example.com", "+79991234567", "89991234567"])
async def test_a_username_shaped_like_an_email_or_phone_is_refused(client: Client, shape: str):
    status, body = await client.post("/register", new_user(username=shape))
    assert status == 400 and "username" in body["errorMessage"]


# 14 --------------------------------------------------------------------------------------
async def test_a_session_unused_past_the_idle_timeout_ends(
    auth: ServiceProcess, client: Client, mongo: Any
):
    user = await register(client)
    assert await login(client, user) == 200
    assert (await client.get("/auth"))[0] == 200
    long_ago = utcnow() - timedelta(days=2)
    await db(mongo, auth).sessions.update_many(
        {"username": user["username"].lower()},
        {"$set": {"lastSeenAt": long_ago, "createdAt": long_ago}},
    )
    assert (await client.get("/auth"))[0] == 401


async def test_using_a_session_moves_its_idle_timeout_on(
    auth: ServiceProcess, client: Client, mongo: Any
):
    user = await register(client)
    assert await login(client, user) == 200
    sessions = db(mongo, auth).sessions
    mine = {"username": user["username"].lower()}
    an_hour_ago = utcnow() - timedelta(hours=1)
    await sessions.update_many(mine, {"$set": {"lastSeenAt": an_hour_ago}})
    assert (await client.get("/auth"))[0] == 200
    assert (await sessions.find_one(mine))["lastSeenAt"] > an_hour_ago + timedelta(minutes=30)


async def test_a_newer_reset_token_voids_the_older_one(infra: Infra, client: Client):
    user = await register(client)
    await client.post("/password/reset/request", {"email": user["email"]})
    older = await secret_sent_to(infra, user["username"], "password_reset")
    await client.post("/password/reset/request", {"phone": user["phone"]})
    newer = await secret_sent_to(infra, user["username"], "password_reset")
    assert newer != older
    refused = await client.post(
        "/password/reset/confirm", {"resetToken": older, "newPassword": "reset-pass-77"}
    )
    assert refused[0] == 400
    confirm = {"resetToken": newer, "newPassword": "reset-pass-77"}
    assert (await client.post("/password/reset/confirm", confirm))[0] == 200


async def test_a_password_change_voids_an_outstanding_reset_token(infra: Infra, client: Client):
    user = await register(client)
    await client.post("/password/reset/request", {"email": user["email"]})
    token = await secret_sent_to(infra, user["username"], "password_reset")
    assert await login(client, user) == 200
    change = {"currentPassword": user["password"], "newPassword": "brand-new-42"}
    assert (await client.post("/password/change", change))[0] == 200
    confirm = {"resetToken": token, "newPassword": "reset-pass-77"}
    assert (await client.post("/password/reset/confirm", confirm))[0] == 400


async def test_passwords_are_hashed_at_least_at_owasps_minimum_even_if_configured_lower(
    auth: ServiceProcess, client: Client, mongo: Any
):
    user = await register(client)  # the test services are configured with t=1, m=8 MiB
    stored = await db(mongo, auth).users.find_one({"_id": user["username"].lower()})
    params = extract_parameters(stored["passwordHash"])
    assert params.memory_cost >= 19456 and params.time_cost >= 2


async def test_a_weaker_hash_is_replaced_at_the_next_login(
    auth: ServiceProcess, client: Client, mongo: Any
):
    user = await register(client)
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(user["password"])
    users = db(mongo, auth).users
    await users.update_one({"_id": user["username"].lower()}, {"$set": {"passwordHash": weak}})
    assert await login(client, user) == 200
    stored = await users.find_one({"_id": user["username"].lower()})
    assert extract_parameters(stored["passwordHash"]).memory_cost >= 19456
    assert await login(client, user) == 200
