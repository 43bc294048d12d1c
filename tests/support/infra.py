"""Broker + database for tests, in one of three modes:
external (SAGASHOP_KAFKA_BOOTSTRAP and SAGASHOP_MONGO_URL set), containers (a Docker engine
answers: testcontainers `apache/kafka` and a `mongo` replica set) or embedded (the default
here: tansu + SecantusDB on loopback)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from launcher.embedded import EmbeddedInfra, create_topics


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
        }


def docker_answers() -> bool:
    if os.environ.get("SAGASHOP_TEST_MODE") == "embedded":
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@contextlib.asynccontextmanager
async def provide_infra() -> AsyncIterator[Infra]:
    kafka, mongo = os.environ.get("SAGASHOP_KAFKA_BOOTSTRAP"), os.environ.get("SAGASHOP_MONGO_URL")
    if kafka and mongo:
        await create_topics(kafka)
        yield Infra("external", kafka, mongo)
    elif docker_answers():
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
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    kafka = KafkaContainer("apache/kafka:3.8.0").with_kraft()
    mongo = MongoDbContainer("mongo:7").with_command("--replSet rs0 --bind_ip_all")
    with kafka, mongo:
        mongo.exec(["mongosh", "--quiet", "--eval", "rs.initiate()"])
        host, port = mongo.get_container_host_ip(), mongo.get_exposed_port(27017)
        url = f"mongodb://{host}:{port}/?directConnection=true"
        bootstrap = kafka.get_bootstrap_server()
        await create_topics(bootstrap)
        yield Infra("containers", bootstrap, url)
