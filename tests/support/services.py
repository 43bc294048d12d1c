"""Services for a fixture's life: a process of its own (its own database), ready, then killed;
and an admin's client on a service's edge."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from launcher.processes import ServiceProcess
from tests.conftest import start_service
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.store import logged_in, make_admin


@asynccontextmanager
async def running(infra: Infra, module: str, **env: str) -> AsyncIterator[ServiceProcess]:
    """`python -m module` with `env`, once it answers /ready; killed afterwards."""
    proc = start_service(infra, module, Path(tempfile.mkdtemp()), env=env)
    try:
        await proc.wait_ready()
        yield proc
    finally:
        proc.kill()


@asynccontextmanager
async def admin_client(auth: ServiceProcess, url: str, mongo: Any) -> AsyncIterator[Client]:
    """A client logged in at `url` as a new user whom auth_svc then makes an admin."""
    client, username = await logged_in(auth, url)
    try:
        await make_admin(mongo, auth, username)
        yield client
    finally:
        await client.close()
