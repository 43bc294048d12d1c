"""The whole shop for browser tests, started as `make up` starts it (`launcher.stack.Stack`),
on an event loop in a thread: the browser tests are synchronous (Playwright's sync API owns the
test's thread), the stack and the product feed are asynchronous. The browser modules share one
running system (`SHARED_ENV`); one that needs other settings gets its own, started after the
shared one is thrown away (`ShopSystems`, tests/e2e's `Systems`)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from launcher.processes import ROOT
from launcher.stack import Stack
from tests.e2e.conftest import SYSTEM_ENV, System
from tests.support.systems import Systems

T = TypeVar("T")
PASSWORD = "s3cret-pass"


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    first_name: str
    email: str
    phone: str


def new_account(prefix: str = "buyer") -> Account:
    tag = uuid.uuid4().hex[:10]
    digits = str(int(tag, 16))[-10:].rjust(10, "1")
    return Account(f"{prefix}-{tag}", PASSWORD, "Анна", f"{prefix}-{tag}@example.ru", f"+7{digits}")


# SYSTEM_ENV keeps the warehouse, carriers and pickup points still, so a confirmed order stays
# CONFIRMED until a test moves it (the admin pages' tests rely on it). web_front trusts one
# proxy in front of it, as behind a TLS proxy: test_first_pages names its visitors' addresses
# in X-Forwarded-For as that proxy would; a request without the header is its socket's peer.
SHARED_ENV = {**SYSTEM_ENV, "SAGASHOP_WEB_TRUSTED_PROXIES": "1"}
# test_fulfilment: an order runs to its end within seconds, and only the way a test chooses
FAST_FULFILMENT = {
    **SYSTEM_ENV,
    "SAGASHOP_WAREHOUSE_PACE_SECONDS": "1",
    "SAGASHOP_WAREHOUSE_DAMAGED_SHARE": "0",
    "SAGASHOP_CARRIER_PACE_SECONDS": "1",
    "SAGASHOP_CARRIER_FAILED_ATTEMPT_SHARE": "0",
    "SAGASHOP_CARRIER_LOST_SHARE": "0",
    "SAGASHOP_PICKUP_TRANSIT_SECONDS": "1",
    "SAGASHOP_PICKUP_COLLECT_SECONDS": "2",
    "SAGASHOP_PICKUP_UNCLAIMED_SHARE": "0",
}


class ShopSystem:
    """A running stack plus what tests do to it from outside the browser."""

    def __init__(self, stack: Stack, loop: asyncio.AbstractEventLoop) -> None:
        self.stack, self.loop = stack, loop
        self.system = System(stack)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 300) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def web_url(self) -> str:
        return self.stack.procs["web_front"].url

    def url_of(self, service: str) -> str:
        return self.stack.procs[service].url

    @contextlib.contextmanager
    def down(self, service: str) -> Iterator[None]:
        """`service` killed for the block (as a crash would), then back and ready."""
        proc = self.stack.procs[service]
        proc.kill()
        try:
            yield
        finally:
            proc.start()
            self.run(proc.wait_ready(120))

    def configure(self, simulator: str, token_env: str, **config: object) -> None:
        """A simulator's `PUT /config` with its credential from the run's env (e.g. the
        warehouse's pace)."""
        proc = self.stack.procs[simulator]
        headers = {"Authorization": f"Bearer {proc.env[token_env]}"}

        async def put() -> None:
            async with (
                aiohttp.ClientSession() as http,
                http.put(f"{proc.url}/config", json=config, headers=headers) as resp,
            ):
                assert resp.status == 200, await resp.text()

        self.run(put())

    @contextlib.contextmanager
    def warehouse_paused(self) -> Iterator[None]:
        """The warehouse's staff stop picking for the block (then take a step a second)."""
        self.configure("warehouse_sim", "SAGASHOP_WAREHOUSE_TOKEN", paceSeconds=3600)
        try:
            yield
        finally:
            self.configure("warehouse_sim", "SAGASHOP_WAREHOUSE_TOKEN", paceSeconds=1)

    def add_product(
        self, name: str, price: int, stock: dict[str, int], description: str = ""
    ) -> int:
        """A product published by the neighbour feeds (tests/e2e's helper), buyable at once."""
        return self.run(self.system.add_product(name, price, stock, description))

    def create_admin(self) -> Account:
        """The first admin, made as a person makes it: `sagashop admin create`."""
        admin = new_account("admin")
        argv = [
            sys.executable,
            "-m",
            "launcher.cli",
            "admin",
            "create",
            "--username",
            admin.username,
            "--email",
            admin.email,
            "--phone",
            admin.phone,
            "--first-name",
            admin.first_name,
            "--password",
            admin.password,
        ]
        env = {**self.stack.procs["auth_svc"].env, "SAGASHOP_HOME": str(self.stack.state)}
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return admin


class ShopSystems:
    """The browser package's systems, one running at a time (each costs a fifth of a core while
    idle), on one event loop in a thread: a module asking for the settings of the running one
    gets it as the modules before it left it; one asking for others has it thrown away and its
    own started."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.systems = Systems()

    def acquire(self, env: dict[str, str]) -> ShopSystem:
        stack = asyncio.run_coroutine_threadsafe(self.systems.acquire(env), self.loop)
        return ShopSystem(stack.result(300), self.loop)

    def close(self) -> None:
        try:
            self.systems.release()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
