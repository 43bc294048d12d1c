"""The whole shop for browser tests, started as `make up` starts it (`launcher.stack.Stack`),
on its own event loop in a thread: the browser tests are synchronous (Playwright's sync API
owns the test's thread), the stack and the product feed are asynchronous."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from launcher.processes import ROOT
from launcher.stack import Stack
from tests.e2e.conftest import SYSTEM_ENV, System

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


class ShopSystem:
    """A running stack plus what tests do to it from outside the browser."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.stack = Stack(Path(tempfile.mkdtemp(prefix="sagashop-browser-")), extra_env=SYSTEM_ENV)
        self.system = System(self.stack)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 300) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.run(self.stack.start())

    def stop(self) -> None:
        try:
            self.run(self.stack.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

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
