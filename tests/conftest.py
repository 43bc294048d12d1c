"""Fixtures: one broker + database per test session (embedded, containers or external) and
services run as real OS processes that tests can SIGKILL and restart."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from launcher.embedded import free_port
from launcher.processes import ServiceProcess
from tests.support.infra import Infra, provide_infra


@pytest.fixture(scope="session")
async def infra() -> AsyncIterator[Infra]:
    async with provide_infra() as provided:
        yield provided


@pytest.fixture(scope="session")
async def mongo(infra: Infra) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    yield client
    await client.close()


SpawnService = Callable[..., ServiceProcess]

# the cheapest password hashing auth_svc accepts (OWASP's floor: 19 MiB, 2 passes; production
# keeps argon2id's defaults)
FAST_HASHING = {"SAGASHOP_ARGON2_TIME_COST": "2", "SAGASHOP_ARGON2_MEMORY_KIB": "19456"}


def start_service(
    infra: Infra,
    module: str,
    log_dir: Path,
    name: str | None = None,
    env: dict[str, str] | None = None,
    **overrides: str,
) -> ServiceProcess:
    """`python -m module` as its own process against the test infrastructure, with a unique
    service name (so its own database) unless one is given."""
    name = name or f"{module.rsplit('.', 1)[-1]}-{uuid.uuid4().hex[:8]}"
    base = {
        **infra.env(),
        "SAGASHOP_SERVICE_NAME": name,
        "SAGASHOP_LOG_JSON": "false",
        **FAST_HASHING,
        **(env or {}),
    }
    proc = ServiceProcess(name, module, free_port(), base, log_dir / f"{name}.log")
    proc.start(**overrides)
    return proc


@pytest.fixture(scope="session")
async def auth(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    """One auth_svc for every test that just needs sessions (its own database)."""
    proc = start_service(infra, "auth_svc", tmp_path_factory.mktemp("auth"))
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture
def spawn(infra: Infra, tmp_path: Path) -> Iterator[SpawnService]:
    """Start services as processes for one test; all are killed at its end."""
    started: list[ServiceProcess] = []

    def start(
        module: str, name: str | None = None, env: dict[str, str] | None = None, **overrides: str
    ) -> ServiceProcess:
        proc = start_service(infra, module, tmp_path, name, env, **overrides)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
