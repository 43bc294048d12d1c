"""The broker and database of the tests' session (the `infra` fixture), chosen by one variable,
SAGASHOP_INFRA:

- `embedded` (the default): tansu + SecantusDB on loopback, started for the session;
- `containers`: Apache Kafka (KRaft) and a MongoDB replica set on a Docker engine
  (tests/support/containers.py); an error, not a fallback, when no engine answers;
- `external`: the servers SAGASHOP_KAFKA_BOOTSTRAP and SAGASHOP_MONGO_URL name (also chosen
  when both are set and SAGASHOP_INFRA is not).

SAGASHOP_TEST_MODE, the variable's old name, is still read. The end-to-end, browser, chaos
and bench tests start whole systems of their own on the embedded servers."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from launcher.embedded import EmbeddedInfra, InfraError, create_topics

MODES = ("embedded", "containers", "external")
EXTERNAL_VARS = ("SAGASHOP_KAFKA_BOOTSTRAP", "SAGASHOP_MONGO_URL")
# the tests' services on the embedded broker: a consumer session of 2 s (heartbeat 0.6 s) instead
# of the services' 6 s. tansu holds a group's first join for about half the session (3 s at 6 s,
# 1 s at 2 s), and a killed service's restart is not ready until the broker has dropped its
# dead self from the group (~1.1-1.5x the session) and the group has settled: order_svc
# restarted in a crash test was ready after 7-11 s, now after 1-4 s. Apache Kafka refuses a
# session below its group.min.session.timeout.ms (6 s by default): containers and external keep
# the services' 6 s
FAST_REJOIN = {
    "SAGASHOP_KAFKA_SESSION_TIMEOUT_MS": "2000",
    "SAGASHOP_KAFKA_HEARTBEAT_INTERVAL_MS": "600",
}


@dataclass
class Infra:
    mode: str
    kafka_bootstrap: str
    mongo_url: str
    embedded: EmbeddedInfra | None = None

    def env(self) -> dict[str, str]:
        return {
            "SAGASHOP_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "SAGASHOP_MONGO_URL": self.mongo_url,
            **(FAST_REJOIN if self.mode == "embedded" else {}),
        }


def infra_mode(environ: Mapping[str, str]) -> str:
    """Which infrastructure the environment asks for; a clear error for a bad request."""
    asked = environ.get("SAGASHOP_INFRA") or environ.get("SAGASHOP_TEST_MODE")
    external = all(environ.get(name) for name in EXTERNAL_VARS)
    mode = asked or ("external" if external else "embedded")
    if mode not in MODES:
        raise InfraError(f"SAGASHOP_INFRA={mode!r}: expected one of {', '.join(MODES)}")
    if mode == "external" and not external:
        missing = [name for name in EXTERNAL_VARS if not environ.get(name)]
        raise InfraError(f"SAGASHOP_INFRA=external needs {' and '.join(missing)}")
    return mode


def docker_engine_error() -> str | None:
    """Why no Docker engine answers, or None when one does."""
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception as exc:  # every way of not answering is the same answer here
        return f"{type(exc).__name__}: {exc}"
    return None


@contextlib.asynccontextmanager
async def provide_infra(environ: Mapping[str, str] = os.environ) -> AsyncIterator[Infra]:
    mode = infra_mode(environ)
    if mode == "external":
        kafka, mongo = (environ[name] for name in EXTERNAL_VARS)
        await create_topics(kafka)
        yield Infra("external", kafka, mongo)
    elif mode == "containers":
        async with _containers() as infra:
            yield infra
    else:
        state = Path(tempfile.mkdtemp(prefix="sagashop-test-"))
        embedded = EmbeddedInfra.create(state)
        await embedded.start()
        try:
            yield Infra("embedded", embedded.kafka_bootstrap, embedded.mongo_url, embedded)
        finally:
            embedded.stop()


@contextlib.asynccontextmanager
async def _containers() -> AsyncIterator[Infra]:
    from tests.support.containers import initiate_replica_set, running_containers

    if reason := docker_engine_error():
        raise InfraError(
            f"SAGASHOP_INFRA=containers needs a Docker engine, and none answers ({reason}); "
            "SAGASHOP_INFRA=embedded (the default) needs none"
        )
    with running_containers() as (bootstrap, url):
        await initiate_replica_set(url)
        await create_topics(bootstrap)
        yield Infra("containers", bootstrap, url)
