"""The reference deployment keeps its infrastructure to itself (issue 15, item 2): only the shop's
pages are published, MongoDB wants a user, Kafka wants SASL, and every secret is a file outside
the image. compose.yaml and deploy/ are read as data; deploy/make-secrets.sh really runs."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from auth_svc.settings import AuthSettings
from launcher.stack import SERVICE_PACKAGES, SIMULATORS, WEB_FRONT
from order_svc.settings import OrderSettings
from servicekit.broker import kafka_client_options, kafka_security
from servicekit.settings import ServiceSettings
from web_front.settings import FrontSettings

ROOT = Path(__file__).resolve().parents[2]
SECRETS_DIR = "deploy/secrets"
KAFKA_CLIENTS = (*SERVICE_PACKAGES, "topics")
SERVICE_SECRETS = {
    "sagashop_mongo_username",
    "sagashop_mongo_password",
    "sagashop_kafka_sasl_username",
    "sagashop_kafka_sasl_password",
}
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "JAAS")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def mounted_secrets(service: dict[str, Any]) -> dict[str, str]:
    """Where each secret of the service appears in its container: path -> secret name."""
    mounts = {}
    for entry in service.get("secrets") or ():
        source, target = (
            (entry, entry)
            if isinstance(entry, str)
            else (
                entry["source"],
                entry.get("target", entry["source"]),
            )
        )
        path = target if target.startswith("/") else f"/run/secrets/{target}"
        mounts[path] = source
    return mounts


def mounted_configs(compose: dict[str, Any], service: dict[str, Any]) -> dict[str, Path]:
    """Where each config file of the service appears in its container: path -> file here."""
    return {
        entry["target"]: ROOT / compose["configs"][entry["source"]]["file"]
        for entry in service.get("configs") or ()
    }


def secret_file(compose: dict[str, Any], name: str) -> str:
    return str(compose["secrets"][name]["file"])


def test_only_the_web_front_publishes_a_port_on_the_host(services):
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {WEB_FRONT}
    for name, service in services.items():
        assert service.get("network_mode") is None, f"{name} shares another network stack"


def test_everything_but_the_web_front_sits_only_on_internal_networks(compose, services):
    networks = compose["networks"]
    internal = {name for name, net in networks.items() if (net or {}).get("internal") is True}
    assert internal, "no internal network"
    for name, service in services.items():
        attached = set(service.get("networks") or ())
        assert attached, f"{name} is on compose's default network, which is not internal"
        if name == WEB_FRONT:
            assert attached & internal, "the web front cannot reach the edges"
            assert attached - internal, "the web front's published port needs a routed network"
        else:
            assert attached <= internal, f"{name} is on {attached - internal}"


def test_mongo_creates_its_root_user_from_secret_files_and_runs_with_a_key_file(compose, services):
    mongo = services["mongo"]
    env, secrets = env_of(mongo), mounted_secrets(mongo)
    assert "MONGO_INITDB_ROOT_PASSWORD" not in env and "MONGO_INITDB_ROOT_USERNAME" not in env
    for var in ("MONGO_INITDB_ROOT_USERNAME_FILE", "MONGO_INITDB_ROOT_PASSWORD_FILE"):
        assert env[var] in secrets, f"{var} names a file that is not mounted"
        assert secret_file(compose, secrets[env[var]]).startswith(f"{SECRETS_DIR}/")
    command = [str(word) for word in mongo["command"]]
    assert command[0] == "mongod", "the image's entrypoint creates users only for mongod"
    assert command[command.index("--replSet") + 1] == "rs0"
    key_file = command[command.index("--keyFile") + 1]
    entrypoint = mongo["entrypoint"]
    script = mounted_configs(compose, mongo)[entrypoint[-1]].read_text()
    assert f"key={key_file}" in script and 'chmod 400 "$key"' in script
    assert "exec docker-entrypoint.sh" in script
    assert key_file.startswith("/data/configdb/")
    assert any(v.endswith(":/data/configdb") for v in mongo["volumes"]), "key lost on recreate"


def test_mongo_healthcheck_authenticates_as_root_before_it_initiates_the_replica_set(
    compose, services
):
    mongo = services["mongo"]
    test = [str(word) for word in mongo["healthcheck"]["test"]]
    script = mounted_configs(compose, mongo)[test[test.index("--file") + 1]].read_text()
    assert script.index(".auth(") < script.index("rs.initiate")
    for name in ("mongo_root_username", "mongo_root_password"):
        assert f"'{name}'" in script and f"/run/secrets/{name}" in mounted_secrets(mongo)


def test_the_services_mongo_user_is_made_once_from_their_secrets_and_is_not_root(compose, services):
    mongo = services["mongo"]
    initdb = {
        path: file
        for path, file in mounted_configs(compose, mongo).items()
        if path.startswith("/docker-entrypoint-initdb.d/") and path.endswith(".js")
    }
    assert len(initdb) == 1
    script = next(iter(initdb.values())).read_text()
    roles = re.findall(r"role:\s*'([^']+)'", script)
    assert roles == ["readWriteAnyDatabase"]
    for name in ("sagashop_mongo_username", "sagashop_mongo_password"):
        assert f"'{name}'" in script and f"/run/secrets/{name}" in mounted_secrets(mongo)


def test_kafka_takes_clients_only_over_sasl_and_its_controller_only_on_loopback(compose, services):
    kafka = services["kafka"]
    env = env_of(kafka)
    protocols = dict(
        pair.split(":") for pair in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    for listener in env["KAFKA_LISTENERS"].split(","):
        name, address = listener.split("://")
        if name == controller:
            assert address.rsplit(":", 1)[0] in ("localhost", "127.0.0.1"), listener
        else:
            assert protocols[name].startswith("SASL_"), listener
    for listener in env["KAFKA_ADVERTISED_LISTENERS"].split(","):
        assert protocols[listener.split("://")[0]].startswith("SASL_"), listener
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].endswith("@localhost:9093")
    assert protocols[env["KAFKA_INTER_BROKER_LISTENER_NAME"]].startswith("SASL_")
    assert env["KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL"] == "PLAIN"
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"].split(",") == ["PLAIN"]


def test_kafka_reads_its_users_and_its_healthcheck_login_from_mounted_secrets(compose, services):
    kafka = services["kafka"]
    secrets = mounted_secrets(kafka)
    jaas = env_of(kafka)["KAFKA_OPTS"].split("-Djava.security.auth.login.config=")[1].split()[0]
    assert jaas in secrets
    test = " ".join(kafka["healthcheck"]["test"])
    login = test.split("--command-config ")[1].split()[0]
    assert login in secrets
    for path in (jaas, login):
        assert secret_file(compose, secrets[path]).startswith(f"{SECRETS_DIR}/")


def test_every_kafka_client_uses_the_brokers_sasl_and_reads_its_users_from_secret_files(
    services,
):
    broker_mechanisms = env_of(services["kafka"])["KAFKA_SASL_ENABLED_MECHANISMS"].split(",")
    for name in KAFKA_CLIENTS:
        service = services[name]
        env = env_of(service)
        assert env["SAGASHOP_KAFKA_SECURITY_PROTOCOL"] in ("SASL_PLAINTEXT", "SASL_SSL"), name
        assert env["SAGASHOP_KAFKA_SASL_MECHANISM"] in broker_mechanisms, name
        assert env["SAGASHOP_SECRETS_DIR"] == "/run/secrets", name
        assert {f"/run/secrets/{s}" for s in SERVICE_SECRETS} <= set(mounted_secrets(service))
        assert "@" not in urlsplit(env["SAGASHOP_MONGO_URL"]).netloc, f"{name}: URL credentials"


def test_no_secret_is_written_in_compose_or_given_a_default(services):
    text = (ROOT / "compose.yaml").read_text()
    assert "change-me" not in text
    assert not re.search(r"\$\{[A-Z_]*(PASSWORD|SECRET|TOKEN)[A-Z_]*:-", text)
    for name, service in services.items():
        for key in env_of(service):
            if key.endswith("_FILE") or key == "SAGASHOP_SECRETS_DIR":
                continue
            assert not any(word in key for word in SECRET_WORDS), f"{name} sets {key} inline"


def test_every_secret_and_env_file_lives_in_the_ignored_secrets_directory(compose, services):
    ignored = (ROOT / SECRETS_DIR / ".gitignore").read_text().split()
    assert "*" in ignored and "!.gitignore" in ignored
    files = {secret["file"] for secret in compose["secrets"].values()}
    files |= {f for service in services.values() for f in service.get("env_file") or ()}
    script = (ROOT / "deploy" / "make-secrets.sh").read_text()
    for file in files:
        assert file.startswith(f"{SECRETS_DIR}/"), file
        assert Path(file).name in script, f"deploy/make-secrets.sh does not write {file}"


def test_the_image_copies_no_deployment_file_and_sets_no_secret():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "deploy/" in ignored, "deploy/secrets would be sent with the build context"
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        words = line.split()
        if words and words[0].upper() in ("COPY", "ADD"):
            sources = [w for w in words[1:-1] if not w.startswith("--")]
            assert not any(s in (".", "./", "deploy", "./deploy") for s in sources), line
        if words and words[0].upper() in ("ENV", "ARG"):
            assert not any(word in line.upper() for word in SECRET_WORDS), line


@pytest.fixture(scope="module")
def made_secrets(tmp_path_factory) -> Path:
    """deploy/make-secrets.sh run in a copy of deploy/ (twice: the second run keeps all)."""
    deploy = tmp_path_factory.mktemp("deploy")
    shutil.copy(ROOT / "deploy" / "make-secrets.sh", deploy)
    subprocess.run(["bash", str(deploy / "make-secrets.sh")], check=True, capture_output=True)
    first = {p.name: p.read_text() for p in (deploy / "secrets").iterdir()}
    subprocess.run(["bash", str(deploy / "make-secrets.sh")], check=True, capture_output=True)
    assert {p.name: p.read_text() for p in (deploy / "secrets").iterdir()} == first
    return deploy / "secrets"


def test_make_secrets_writes_every_file_compose_mounts_in_a_private_directory(
    compose, services, made_secrets
):
    assert stat.S_IMODE(made_secrets.stat().st_mode) == 0o700
    files = {Path(secret["file"]).name for secret in compose["secrets"].values()}
    files |= {Path(f).name for service in services.values() for f in service.get("env_file") or ()}
    for name in files:
        assert (made_secrets / name).read_text().strip(), name


def test_the_brokers_users_hold_the_services_kafka_password(made_secrets):
    jaas = (made_secrets / "kafka_server_jaas.conf").read_text()
    user = (made_secrets / "sagashop_kafka_sasl_username").read_text().strip()
    password = (made_secrets / "sagashop_kafka_sasl_password").read_text().strip()
    assert f'user_{user}="{password}"' in jaas
    admin = (made_secrets / "kafka_admin_password").read_text().strip()
    assert f'password="{admin}"' in (made_secrets / "kafka_admin.properties").read_text()


def test_services_read_their_credentials_from_the_secrets_directory(made_secrets, monkeypatch):
    monkeypatch.setenv("SAGASHOP_SECRETS_DIR", str(made_secrets))
    monkeypatch.setenv("SAGASHOP_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    settings = ServiceSettings()
    mongo_password = (made_secrets / "sagashop_mongo_password").read_text().strip()
    assert settings.mongo_credentials == {
        "username": "sagashop",
        "password": mongo_password,
        "authSource": "admin",
    }
    options = kafka_client_options(settings)
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_plain_username"] == "sagashop"
    kafka_password = (made_secrets / "sagashop_kafka_sasl_password").read_text().strip()
    assert options["sasl_plain_password"] == kafka_password
    assert kafka_password not in repr(settings), "a password in the settings' repr"
    holds_token = (made_secrets / "sagashop_holds_token").read_text().strip()
    assert OrderSettings().holds_token == holds_token
    front_token = (made_secrets / "sagashop_front_token").read_text().strip()
    assert AuthSettings().front_token == FrontSettings().front_token == front_token


def test_only_web_front_and_auth_svc_hold_the_fronts_credential(services):
    holders = {n for n, s in services.items() if "sagashop_front_token" in (s.get("secrets") or ())}
    assert holders == {WEB_FRONT, "auth_svc"}
    assert env_of(services[WEB_FRONT])["SAGASHOP_SECRETS_DIR"] == "/run/secrets"


def test_the_environment_wins_over_a_secret_file(made_secrets, monkeypatch):
    monkeypatch.setenv("SAGASHOP_SECRETS_DIR", str(made_secrets))
    monkeypatch.setenv("SAGASHOP_MONGO_USERNAME", "someone")
    assert ServiceSettings().mongo_username == "someone"


def test_without_settings_the_clients_stay_plaintext_and_anonymous_for_the_embedded_servers(
    monkeypatch,
):
    for var in (
        "SAGASHOP_SECRETS_DIR",
        "SAGASHOP_KAFKA_SECURITY_PROTOCOL",
        "SAGASHOP_MONGO_USERNAME",
    ):
        monkeypatch.delenv(var, raising=False)
    settings = ServiceSettings()
    assert kafka_client_options(settings) == {}
    assert kafka_security(settings) is None
    assert settings.mongo_credentials == {}


def test_sasl_ssl_trusts_the_given_ca_and_scram_is_passed_on(monkeypatch, tmp_path):
    monkeypatch.delenv("SAGASHOP_SECRETS_DIR", raising=False)
    settings = ServiceSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="u",
        kafka_sasl_password="p",
    )
    options = kafka_client_options(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["ssl_context"] is not None
    security = kafka_security(settings)
    assert security is not None and security.use_ssl
    assert type(security).__name__ == "SASLScram512"


def overlay(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / name).read_text())
    return data


def test_the_tls_overlay_moves_the_broker_and_every_client_to_sasl_ssl_with_one_ca():
    tls = overlay("compose.kafka-tls.yaml")
    kafka = tls["services"]["kafka"]
    env = env_of(kafka)
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "SASL_SSL://kafka:9092"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == "SASL_SSL"
    secrets = mounted_secrets(kafka)
    # the image looks for these names under /etc/kafka/secrets (its `configure` script)
    for var in ("KAFKA_SSL_KEYSTORE_FILENAME", "KAFKA_SSL_KEYSTORE_CREDENTIALS"):
        assert f"/etc/kafka/secrets/{env[var]}" in secrets, var
    assert env["KAFKA_SSL_TRUSTSTORE_LOCATION"] in secrets
    test = " ".join(kafka["healthcheck"]["test"])
    assert test.split("--command-config ")[1].split()[0] in secrets
    for name in KAFKA_CLIENTS:
        client = tls["services"][name]
        client_env = env_of(client)
        assert client_env["SAGASHOP_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert client_env["SAGASHOP_KAFKA_SSL_CAFILE"] in mounted_secrets(client), name
    for secret in tls["secrets"].values():
        assert secret["file"].startswith(f"{SECRETS_DIR}/"), "paths follow compose.yaml's"


def test_the_overlays_publish_nothing_beyond_the_hosts_loopback():
    for name in ("compose.kafka-tls.yaml", "compose.dev.yaml"):
        for service_name, service in overlay(name)["services"].items():
            for port in service.get("ports") or ():
                assert str(port).startswith("127.0.0.1:"), f"{name}: {service_name} {port}"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_make_keystore_writes_every_file_the_tls_overlay_mounts(made_secrets, tmp_path):
    deploy = made_secrets.parent
    (deploy / "kafka").mkdir(exist_ok=True)
    shutil.copy(ROOT / "deploy" / "kafka" / "make-keystore.sh", deploy / "kafka")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp_path)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "1", "-subj", "/CN=test-ca")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/CN=kafka")  # fmt: skip
    (tmp_path / "ext").write_text("subjectAltName=DNS:kafka\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "ext")  # fmt: skip
    script = deploy / "kafka" / "make-keystore.sh"
    subprocess.run(["bash", str(script), "server.crt", "server.key", "ca.crt"], check=True,
                   capture_output=True, cwd=tmp_path)  # fmt: skip
    for secret in overlay("compose.kafka-tls.yaml")["secrets"].values():
        assert (made_secrets / Path(secret["file"]).name).stat().st_size > 0, secret["file"]
    password = made_secrets / "kafka_keystore_password"
    listed = subprocess.run(
        ["openssl", "pkcs12", "-in", str(made_secrets / "kafka.keystore.p12"), "-nokeys",
         "-passin", f"file:{password}"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert "CN = kafka" in listed.stdout or "CN=kafka" in listed.stdout


def test_every_neighbour_simulator_runs_from_our_image_on_the_internal_network(services):
    by_module = {" ".join(map(str, s.get("command") or ())): n for n, s in services.items()}
    for name, module in SIMULATORS.items():
        if name == "mail_sim":
            assert "mailpit" in services  # a real mail catcher stands in for it here
            continue
        assert f"python -m {module}" in by_module, f"compose does not run {name}"
        assert not services[by_module[f"python -m {module}"]].get("ports"), name


@pytest.mark.parametrize(
    ("service", "neighbour", "env_file"),
    [
        ("payment_svc", "bank_sim", "bank.env"),
        ("notification_svc", "sms_sim", "sms.env"),
        ("store_svc", "warehouse_sim", "warehouse.env"),
        ("delivery_svc", "carrier_sim", "carrier.env"),
        ("delivery_svc", "pickup_sim", "pickup.env"),
    ],
)
def test_a_service_and_its_neighbour_share_their_credentials_from_one_env_file(
    services, service, neighbour, env_file
):
    path = f"{SECRETS_DIR}/{env_file}"
    assert path in services[service]["env_file"]
    assert path in services[neighbour]["env_file"]
