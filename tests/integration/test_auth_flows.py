"""auth_svc's roles, admin routes and the password and verification flows, over HTTP, with
codes and tokens read where the user would get them: the message to notification_svc."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from launcher.processes import ROOT, ServiceProcess
from schemas import topics
from servicekit.mongo import utcnow
from tests.integration.test_auth_edge import new_user, registered
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually, read_topic


@pytest.fixture
async def client(auth: ServiceProcess) -> AsyncIterator[Client]:
    c = Client(auth.url)
    yield c
    await c.close()


async def logged_in(auth: ServiceProcess, user: dict[str, str]) -> Client:
    c = Client(auth.url)
    status, _ = await c.post("/login", {"username": user["username"], "password": user["password"]})
    assert status == 200
    return c


def admin_create(
    auth: ServiceProcess, user: dict[str, str], *password: str
) -> subprocess.CompletedProcess[str]:
    """`sagashop admin create` for `user`, without a terminal (stdin empty), `--password`
    given when `password` is."""
    env = {**auth.env, "SAGASHOP_HOME": tempfile.mkdtemp(), "SAGASHOP_SERVICE_NAME": auth.name}
    env.pop("SAGASHOP_ADMIN_PASSWORD", None)
    argv = [sys.executable, "-m", "launcher.cli", "admin", "create", "--username"]
    argv += [user["username"], "--email", user["email"], "--phone", user["phone"]]
    return subprocess.run(
        argv + [f"--password={p}" for p in password],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def create_admin(auth: ServiceProcess, infra: Infra) -> dict[str, str]:
    """The first admin comes from the CLI, never from an open endpoint."""
    admin = new_user(password="adm1n-secret")
    done = admin_create(auth, admin, admin["password"])
    assert done.returncode == 0, done.stderr
    assert "admin" in done.stdout
    return admin


def test_admin_create_without_a_terminal_or_a_password_says_what_is_missing(
    auth: ServiceProcess,
) -> None:
    done = admin_create(auth, new_user())
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "admin create: no password: give --password, set SAGASHOP_ADMIN_PASSWORD, "
        "or run it in a terminal to be asked"
    ]


async def test_making_an_admin_again_lists_each_role_once(
    auth: ServiceProcess, infra: Infra
) -> None:
    admin_user = create_admin(auth, infra)
    again = admin_create(auth, admin_user, admin_user["password"])
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("has roles customer, admin")
    admin = await logged_in(auth, admin_user)
    try:
        status, body = await admin.post(f"/admin/users/{admin_user['username']}/grant-admin")
        assert (status, body["roles"]) == (200, ["customer", "admin"])
    finally:
        await admin.close()


async def secret_sent_to(infra: Infra, username: str, kind: str) -> str:
    async def newest() -> str | None:
        records = await read_topic(
            infra.kafka_bootstrap, topics.AUTH_NOTIFICATIONS.name, expect=10**6, timeout=1
        )
        mine = [json.loads(r.value) for r in records if r.key == username.encode()]
        mine = [m for m in mine if m["kind"] == kind]
        return mine[-1]["secret"] if mine else None

    return str(await eventually(newest, timeout=15))


async def test_admin_created_by_the_cli_can_list_search_block_and_unblock(
    auth: ServiceProcess, infra: Infra, client: Client
):
    admin_user = create_admin(auth, infra)
    admin = await logged_in(auth, admin_user)
    user = await registered(client)
    victim = await logged_in(auth, user)
    try:
        status, page = await admin.get("/admin/users", params={"q": user["username"]})
        assert status == 200 and [u["username"] for u in page["items"]] == [user["username"]]
        assert (await admin.post(f"/admin/users/{user['username']}/block"))[0] == 200
        assert (await victim.get("/auth"))[0] == 401  # their sessions ended
        creds = {"username": user["username"], "password": user["password"]}
        assert await client.post("/login", creds) == (403, {"errorMessage": "Account is blocked"})
        assert (await admin.post(f"/admin/users/{user['username']}/unblock"))[0] == 200
        assert (await client.post("/login", creds))[0] == 200
    finally:
        await admin.close()
        await victim.close()


async def test_a_customer_gets_403_on_admin_routes_and_a_guest_401(
    auth: ServiceProcess, client: Client
):
    assert (await client.get("/admin/users"))[0] == 401
    customer = await logged_in(auth, await registered(client))
    try:
        assert (await customer.get("/admin/users"))[0] == 403
        assert (await customer.post("/admin/users/someone/block"))[0] == 403
    finally:
        await customer.close()


async def test_granting_admin_lets_the_user_use_admin_routes(
    auth: ServiceProcess, infra: Infra, client: Client
):
    admin = await logged_in(auth, create_admin(auth, infra))
    user = await registered(client)
    try:
        assert (await admin.post(f"/admin/users/{user['username']}/grant-admin"))[0] == 200
        promoted = await logged_in(auth, user)
        assert (await promoted.get("/admin/users"))[0] == 200
        await promoted.close()
    finally:
        await admin.close()


async def test_password_change_ends_every_other_session_but_not_this_one(
    auth: ServiceProcess, client: Client
):
    user = await registered(client)
    first, second = await logged_in(auth, user), await logged_in(auth, user)
    try:
        wrong = {"currentPassword": "not-it-123", "newPassword": "brand-new-42"}
        assert (await first.post("/password/change", wrong))[0] == 401
        change = {"currentPassword": user["password"], "newPassword": "brand-new-42"}
        assert (await first.post("/password/change", change))[0] == 200
        assert (await first.get("/auth"))[0] == 200
        assert (await second.get("/auth"))[0] == 401
        old = {"username": user["username"], "password": user["password"]}
        assert (await client.post("/login", old))[0] == 401
        assert (await client.post("/login", {**old, "password": "brand-new-42"}))[0] == 200
    finally:
        await first.close()
        await second.close()


async def test_reset_token_from_the_message_works_once_and_ends_every_session(
    auth: ServiceProcess, infra: Infra, client: Client
):
    user = await registered(client)
    session = await logged_in(auth, user)
    status, _ = await client.post("/password/reset/request", {"email": user["email"]})
    assert status == 202
    token = await secret_sent_to(infra, user["username"], "password_reset")
    confirm = {"resetToken": token, "newPassword": "reset-pass-77"}
    assert (await client.post("/password/reset/confirm", confirm))[0] == 200
    assert (await session.get("/auth"))[0] == 401
    again = await client.post("/password/reset/confirm", {**confirm, "newPassword": "x-pass-999"})
    assert again[0] == 400
    creds = {"username": user["username"], "password": "reset-pass-77"}
    assert (await client.post("/login", creds))[0] == 200
    await session.close()


async def test_an_expired_reset_token_is_refused(auth: ServiceProcess, infra: Infra, client, mongo):
    user = await registered(client)
    await client.post("/password/reset/request", {"phone": user["phone"]})
    token = await secret_sent_to(infra, user["username"], "password_reset")
    await mongo[auth.name].reset_tokens.update_many(
        {"username": user["username"].lower()}, {"$set": {"expiresAt": utcnow() - timedelta(1)}}
    )
    confirm = {"resetToken": token, "newPassword": "reset-pass-77"}
    status, body = await client.post("/password/reset/confirm", confirm)
    assert status == 400 and "expired" in body["errorMessage"]


async def test_reset_request_answers_the_same_for_an_unknown_address(client: Client):
    status, _ = await client.post("/password/reset/request", {"email": "nobody@example.com"})
    assert status == 202


async def test_verification_code_confirms_the_email_and_wrong_codes_are_limited(
    auth: ServiceProcess, infra: Infra, client: Client
):
    user = await registered(client)
    me = await logged_in(auth, user)
    try:
        assert (await me.post("/verify/email/send"))[0] == 202
        code = await secret_sent_to(infra, user["username"], "verification_code")
        assert len(code) == 6 and code.isdigit()
        wrong = "000000" if code != "000000" else "111111"
        assert (await me.post("/verify/email/confirm", {"code": wrong}))[0] == 400
        assert (await me.post("/verify/email/confirm", {"code": code}))[0] == 200
        _, profile = await me.get("/users/me")
        assert profile["emailVerified"] is True and profile["phoneVerified"] is False

        await me.post("/verify/phone/send")
        for _ in range(5):
            assert (await me.post("/verify/phone/confirm", {"code": wrong}))[0] == 400
        code = await secret_sent_to(infra, user["username"], "verification_code")
        assert (await me.post("/verify/phone/confirm", {"code": code}))[0] == 429
    finally:
        await me.close()


async def test_profile_can_be_read_and_renamed_but_not_by_a_guest(
    auth: ServiceProcess, client: Client
):
    user = await registered(client)
    me = await logged_in(auth, user)
    try:
        status, body = await me.patch("/users/me", {"firstName": "Fedor"})
        assert status == 200 and body["firstName"] == "Fedor"
        assert (await me.get("/auth"))[1]["firstName"] == "Fedor"
        assert (await client.patch("/users/me", {"firstName": "X"}))[0] == 401
        assert (await me.patch("/users/me", {"firstName": ""}))[0] == 400
    finally:
        await me.close()
