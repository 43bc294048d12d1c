"""The tests' infrastructure is chosen by SAGASHOP_INFRA, and the containers path is configured
as the apache/kafka and mongo images expect. No Docker engine is needed: the containers are
built (testcontainers' own objects, the engine's API version given so none is asked) but
never started."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from launcher.embedded import InfraError
from tests.support.containers import (
    KAFKA,
    KAFKA_STARTER,
    KAFKA_STARTER_READY,
    MONGO,
    REPLICA_SET,
    REPLICA_SET_CONFIG,
    kafka_starter,
    mongo_url,
)
from tests.support.infra import infra_mode, provide_infra

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[2] / "compose.yaml").read_text())
EXTERNAL = {"SAGASHOP_KAFKA_BOOTSTRAP": "k:9092", "SAGASHOP_MONGO_URL": "mongodb://m"}


def listeners(value: str) -> dict[str, str]:
    """'NAME://host:port,...' -> {NAME: 'host:port'}"""
    return dict(item.split("://") for item in value.split(","))


@pytest.mark.parametrize(
    ("environ", "mode"),
    [
        ({}, "embedded"),
        ({"SAGASHOP_INFRA": "containers"}, "containers"),
        ({"SAGASHOP_INFRA": "embedded", **EXTERNAL}, "embedded"),
        (EXTERNAL, "external"),
        ({"SAGASHOP_INFRA": "external", **EXTERNAL}, "external"),
        ({"SAGASHOP_TEST_MODE": "containers"}, "containers"),
    ],
)
def test_one_variable_chooses_the_infrastructure(environ, mode):
    assert infra_mode(environ) == mode


def test_an_unknown_infrastructure_or_external_without_its_servers_is_a_clear_error():
    with pytest.raises(InfraError, match="expected one of embedded, containers, external"):
        infra_mode({"SAGASHOP_INFRA": "docker"})
    with pytest.raises(InfraError, match="needs SAGASHOP_MONGO_URL"):
        infra_mode({"SAGASHOP_INFRA": "external", "SAGASHOP_KAFKA_BOOTSTRAP": "k:9092"})


async def test_containers_without_a_docker_engine_fail_saying_so(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(InfraError, match="SAGASHOP_INFRA=containers needs a Docker engine"):
        async with provide_infra({"SAGASHOP_INFRA": "containers"}):
            pytest.fail("no infrastructure without an engine")


def test_the_containers_run_the_images_compose_runs():
    services = COMPOSE["services"]
    assert services["kafka"]["image"] == KAFKA.image
    assert services["mongo"]["image"] == MONGO.image


def test_kafka_runs_kraft_with_every_listener_mapped_and_the_quorum_on_its_controller():
    env = KAFKA.env
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["CLUSTER_ID"] and env["KAFKA_NODE_ID"] == "1"
    bound = listeners(env["KAFKA_LISTENERS"])
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(bound) == set(protocols)
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in bound
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in bound
    controller_port = bound[env["KAFKA_CONTROLLER_LISTENER_NAMES"]].rsplit(":", 1)[1]
    assert (
        env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
        == f"{env['KAFKA_NODE_ID']}@localhost:{controller_port}"
    )
    assert bound["CLIENT"] == f":{KAFKA.port}", "the clients' listener is the exposed port"
    for name in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG"):
        assert env[f"KAFKA_{name}_REPLICATION_FACTOR"] == "1", "one broker"


def test_kafka_advertises_the_mapped_address_and_starts_only_once_its_script_is_whole():
    script = kafka_starter("localhost", 49154).decode()
    exported = re.search(r"^export KAFKA_ADVERTISED_LISTENERS=(\S+)$", script, re.MULTILINE)
    assert exported, script
    advertised = listeners(exported[1])
    bound = listeners(KAFKA.env["KAFKA_LISTENERS"])
    assert advertised["CLIENT"] == "localhost:49154"
    assert set(advertised) == set(bound) - {KAFKA.env["KAFKA_CONTROLLER_LISTENER_NAMES"]}
    assert advertised["BROKER"] == bound["BROKER"]
    assert script.rstrip().endswith("exec /etc/kafka/docker/run")
    wait = KAFKA.command[-1]
    assert f"[ ! -f {KAFKA_STARTER_READY} ]" in wait and wait.endswith(f"sh {KAFKA_STARTER}")


def test_mongo_is_a_replica_set_without_authentication_reached_directly():
    assert MONGO.command == ["--replSet", REPLICA_SET, "--bind_ip_all"]
    assert not any(key.startswith("MONGO_INITDB_ROOT") for key in MONGO.env)
    assert REPLICA_SET_CONFIG["_id"] == REPLICA_SET
    assert mongo_url("localhost", 49155) == "mongodb://localhost:49155/?directConnection=true"


def test_the_ready_lines_match_what_the_images_log():
    kafka_line = (
        "[2024-08-13 10:00:01,234] INFO [BrokerLifecycleManager id=1] The broker has been "
        "unfenced. Transitioning from RECOVERY to RUNNING. (kafka.server.BrokerLifecycleManager)"
    )
    mongo_line = (
        '{"t":{"$date":"2024-08-13T10:00:01.234+00:00"},"s":"I","c":"NETWORK","id":23016,'
        '"ctx":"listener","msg":"Waiting for connections","attr":{"port":27017,"ssl":"off"}}'
    )
    assert re.search(KAFKA.ready_log, kafka_line)
    assert re.search(MONGO.ready_log, mongo_line)


def test_testcontainers_takes_the_configuration_as_given():
    """Built with the installed testcontainers (a call it does not know fails here)."""
    for spec in (KAFKA, MONGO):
        container = spec.container(version="1.44")
        assert container.image.endswith(spec.image)
        assert container.ports == {str(spec.port): None}, "a random host port"
        assert container.env == spec.env
