"""compose.yaml and the Dockerfile describe the reference deployment: checked as data, no
Docker needed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from launcher.stack import SERVICE_PACKAGES, WEB_FRONT, url_env_name

ROOT = Path(__file__).resolve().parents[2]
INFRA = ("kafka", "mongo", "topics")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def depends_on(service: dict[str, Any]) -> set[str]:
    return set(service.get("depends_on") or ())


def host_ports(service: dict[str, Any]) -> list[str]:
    ports = []
    for port in service.get("ports") or ():
        if isinstance(port, dict):
            ports.append(str(port["published"]))
        else:
            parts = str(port).split(":")
            if len(parts) > 1:
                ports.append(parts[-2])
    return ports


def dockerfile_copies() -> set[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    sources: set[str] = set()
    for line in text.splitlines():
        words = line.split()
        if words and words[0].upper() in ("COPY", "ADD"):
            args = [w for w in words[1:] if not w.startswith("--")]
            sources.update(a.rstrip("/").removeprefix("./") for a in args[:-1])
    return sources


def test_compose_names_a_service_for_every_service_package_and_runs_python_m_package(services):
    for package in SERVICE_PACKAGES:
        assert package in services, f"compose.yaml has no service {package}"
        assert command_of(services[package]) == ["python", "-m", package]


def test_every_service_names_itself_and_points_at_the_compose_kafka_and_mongo(services):
    for package in SERVICE_PACKAGES:
        env = env_of(services[package])
        assert env.get("SAGASHOP_SERVICE_NAME") == package
        kafka_hosts = {hp.rsplit(":", 1)[0] for hp in env["SAGASHOP_KAFKA_BOOTSTRAP"].split(",")}
        assert kafka_hosts == {"kafka"}, package
        mongo = urlsplit(env["SAGASHOP_MONGO_URL"])
        assert mongo.scheme == "mongodb" and mongo.hostname == "mongo", package
        assert "replicaSet=rs0" in mongo.query, package
        assert env.get("SAGASHOP_HTTP_PORT", "").isdigit(), package
        assert env.get("SAGASHOP_HTTP_HOST") == "0.0.0.0", package


def test_every_service_knows_the_url_of_every_peer_edge_on_its_compose_name_and_port(services):
    for package in SERVICE_PACKAGES:
        env = env_of(services[package])
        for peer in SERVICE_PACKAGES:
            name = url_env_name(peer)
            assert name in env, f"{package} lacks {name}"
            url = urlsplit(env[name])
            peer_port = env_of(services[peer])["SAGASHOP_HTTP_PORT"]
            assert (url.hostname, str(url.port)) == (peer, peer_port), f"{package}: {name}"


def test_kafka_runs_in_kraft_mode_without_auto_topic_creation(services):
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = env_of(kafka)
    assert "controller" in env["KAFKA_PROCESS_ROLES"].split(",")
    assert "broker" in env["KAFKA_PROCESS_ROLES"].split(",")
    assert "SASL_PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_mongo_runs_as_a_replica_set_that_its_healthcheck_initiates(services):
    mongo = services["mongo"]
    command = command_of(mongo)
    assert "--replSet" in command
    assert command[command.index("--replSet") + 1] == "rs0"
    script = " ".join(mongo["healthcheck"]["test"]).split()[-1]
    mounted = {c["target"]: c["source"] for c in mongo["configs"]}
    config = yaml.safe_load((ROOT / "compose.yaml").read_text())["configs"][mounted[script]]
    assert "rs.initiate" in (ROOT / config["file"]).read_text()


def test_a_one_shot_topics_service_creates_the_registry_topics(services):
    topics = services["topics"]
    assert command_of(topics) == ["python", "-m", "launcher.topics"]
    assert env_of(topics)["SAGASHOP_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "kafka" in depends_on(topics)
    assert (ROOT / "launcher" / "topics.py").exists()


def test_every_service_depends_on_kafka_mongo_and_topics(services):
    for package in SERVICE_PACKAGES:
        deps = services[package]["depends_on"]
        assert set(INFRA) <= depends_on(services[package]), package
        assert deps["kafka"]["condition"] == "service_healthy", package
        assert deps["mongo"]["condition"] == "service_healthy", package
        assert deps["topics"]["condition"] == "service_completed_successfully", package


def test_every_service_is_built_from_our_dockerfile_and_checked_on_ready(services):
    for package in SERVICE_PACKAGES:
        service = services[package]
        assert service["build"] == ".", package
        assert "/ready" in " ".join(service["healthcheck"]["test"]), package
        assert service["restart"] == "unless-stopped", package


def test_the_dockerfile_copies_every_package_that_compose_runs(services):
    copied = dockerfile_copies()
    assert {"pyproject.toml", "README.md", "schemas", "servicekit"} <= copied
    for name, service in services.items():
        if service.get("build") is None:
            continue
        command = command_of(service)
        assert command[:2] == ["python", "-m"], name
        package = command[2].split(".", 1)[0]
        assert package in copied, f"{name} runs {package}, which the Dockerfile does not copy"


def test_the_dockerfile_runs_as_a_non_root_user():
    users = re.findall(r"^USER\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert users and users[-1] not in ("root", "0")


def test_host_ports_are_distinct(services):
    published = [port for service in services.values() for port in host_ports(service)]
    assert published, "no edge is published on the host"
    assert len(published) == len(set(published)), sorted(published)


def test_the_web_front_runs_from_our_image_knows_every_edge_and_is_published_on_the_host(services):
    front = services[WEB_FRONT]
    assert command_of(front) == ["python", "-m", WEB_FRONT]
    assert front["build"] == "." and "/ready" in " ".join(front["healthcheck"]["test"])
    env = env_of(front)
    for peer in SERVICE_PACKAGES:
        url = urlsplit(env[url_env_name(peer)])
        assert url.hostname == peer, peer
    assert "deploy/secrets/web.env" in front["env_file"]  # SAGASHOP_WEB_SECRET
    assert {"auth_svc", "store_svc", "order_svc"} <= depends_on(front)
    assert host_ports(front)


def test_every_worker_scales_with_one_variable_for_its_replicas_and_its_leases(services):
    """deploy.replicas and SAGASHOP_REPLICAS (leases for the relay and sweepers above 1) come
    from the same variable, default 1; a worker publishes no host port and has no fixed
    container name, either of which would stop a second replica from starting."""
    for package in SERVICE_PACKAGES:
        service = services[package]
        count = f"${{{package.upper()}_REPLICAS:-1}}"
        assert (service.get("deploy") or {}).get("replicas") == count, package
        assert env_of(service).get("SAGASHOP_REPLICAS") == count, package
        assert not service.get("ports") and "container_name" not in service, package
    assert env_of(services["topics"]).get("SAGASHOP_TOPIC_PARTITIONS")
