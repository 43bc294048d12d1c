"""The real-cluster path of the tests (SAGASHOP_INFRA=containers): Apache Kafka in KRaft mode
(the `apache/kafka` image compose.yaml runs) and a MongoDB single-node replica set (`mongo`),
each a testcontainers `DockerContainer`. What they are configured with is plain data here, so
a unit test can check it without a Docker engine.

Kafka must advertise the address the tests reach it at, the host's port mapped to 9092, which
is known only once the container runs: the container waits for a starter script, which is
copied in after the start with that address (as testcontainers-java's KafkaContainer does for
this image), then runs the image's own `/etc/kafka/docker/run`.

MongoDB runs without authentication (a replica set with users would need a key file) and
with `--replSet`; the set is initiated with the member `localhost:27017`, which the client on
the host cannot reach, so the URL says `directConnection=true`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

KAFKA_IMAGE = "apache/kafka:3.8.0"
MONGO_IMAGE = "mongo:7"
REPLICA_SET = "rs0"
STARTUP_SECONDS = 120
KAFKA_STARTER = "/tmp/sagashop-kafka-start.sh"
KAFKA_STARTER_READY = KAFKA_STARTER + ".ready"


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    port: int
    ready_log: str
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def container(self, **docker_client_kw: Any) -> Any:
        """The testcontainers container (its client connects to the engine when built);
        started by the caller, which then waits for `wait_ready`."""
        from testcontainers.core.container import DockerContainer

        built = DockerContainer(self.image, docker_client_kw=docker_client_kw or None)
        return built.with_exposed_ports(self.port).with_command(self.command).with_envs(**self.env)

    def wait_ready(self, container: Any) -> None:
        from testcontainers.core.wait_strategies import LogMessageWaitStrategy

        strategy = LogMessageWaitStrategy(re.compile(self.ready_log))
        strategy.with_startup_timeout(STARTUP_SECONDS).wait_until_ready(container)


KAFKA = ContainerSpec(
    image=KAFKA_IMAGE,
    port=9092,
    # the broker's own log line once it serves clients (KRaft's BrokerLifecycleManager)
    ready_log=r"Transitioning from RECOVERY to RUNNING",
    command=[
        "sh",
        "-c",
        f"while [ ! -f {KAFKA_STARTER_READY} ]; do sleep 0.1; done; exec sh {KAFKA_STARTER}",
    ],
    env={
        "CLUSTER_ID": "5L6g3nShT-eMCtK--X86sw",
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        # CLIENT: the tests, at the mapped port; BROKER: the broker to itself; CONTROLLER: the
        # KRaft quorum of one, on the container's loopback
        "KAFKA_LISTENERS": "CLIENT://:9092,BROKER://localhost:9093,CONTROLLER://localhost:9094",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
            "CLIENT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT"
        ),
        "KAFKA_INTER_BROKER_LISTENER_NAME": "BROKER",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9094",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_LOG_DIRS": "/tmp/kraft-combined-logs",
    },
)

MONGO = ContainerSpec(
    image=MONGO_IMAGE,
    port=27017,
    # the image's entrypoint runs mongod with these (an argument starting with "-" means
    # mongod); no MONGO_INITDB_ROOT_* variables, so no authentication
    command=["--replSet", REPLICA_SET, "--bind_ip_all"],
    ready_log=r"(?i)waiting for connections",
)


def kafka_starter(host: str, port: int) -> bytes:
    """The script the Kafka container waits for: the advertised listeners, then the image's
    own entry point (it writes server.properties from the KAFKA_* variables and starts)."""
    advertised = f"CLIENT://{host}:{port},BROKER://localhost:9093"
    return f"export KAFKA_ADVERTISED_LISTENERS={advertised}\nexec /etc/kafka/docker/run\n".encode()


def mongo_url(host: str, port: int) -> str:
    return f"mongodb://{host}:{port}/?directConnection=true"


REPLICA_SET_CONFIG = {"_id": REPLICA_SET, "members": [{"_id": 0, "host": "localhost:27017"}]}


class NotPrimaryYet(Exception):
    pass


async def initiate_replica_set(url: str) -> None:
    """Initiate the set of one and wait until this node is its writable primary (transactions
    and change streams need it)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        await client.admin.command("replSetInitiate", REPLICA_SET_CONFIG)
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(30),
            wait=wait_fixed(0.2),
            retry=retry_if_exception_type(NotPrimaryYet),
            reraise=True,
        ):
            with attempt:
                hello = await client.admin.command("hello")
                if not hello.get("isWritablePrimary"):
                    raise NotPrimaryYet(f"{url} is not the primary of {REPLICA_SET} yet")
    finally:
        await client.close()


@contextmanager
def running_containers() -> Iterator[tuple[str, str]]:
    """Kafka and MongoDB started (removed on exit): (bootstrap, mongo URL); the replica set
    still has to be initiated (`initiate_replica_set`)."""
    with ExitStack() as stack:
        kafka = stack.enter_context(KAFKA.container())
        mongo = stack.enter_context(MONGO.container())
        host, port = kafka.get_container_host_ip(), kafka.get_exposed_port(KAFKA.port)
        kafka.copy_into_container(kafka_starter(host, port), KAFKA_STARTER)
        kafka.copy_into_container(b"", KAFKA_STARTER_READY)  # after the script is whole
        KAFKA.wait_ready(kafka)
        MONGO.wait_ready(mongo)
        url = mongo_url(mongo.get_container_host_ip(), mongo.get_exposed_port(MONGO.port))
        yield f"{host}:{port}", url
