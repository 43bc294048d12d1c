"""Service settings from `SAGASHOP_*` environment variables (pydantic-settings)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class SecretFiles(BaseSettings):
    """Settings that, besides the environment, may come from a file named after their variable
    in the directory SAGASHOP_SECRETS_DIR (compose mounts its secrets in /run/secrets: the file
    `sagashop_mongo_password` gives `mongo_password`); the environment wins over a file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # read when the settings are built, not at import: no secrets directory, no source
        secrets_dir = os.environ.get("SAGASHOP_SECRETS_DIR")
        files = (
            (SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir),) if secrets_dir else ()
        )
        return (init_settings, env_settings, dotenv_settings, *files)


class ServiceSettings(SecretFiles):
    """Settings every service shares (secrets from files too: SecretFiles). A service
    subclasses this for its own knobs."""

    model_config = SettingsConfigDict(env_prefix="SAGASHOP_", extra="ignore")

    service_name: str = "service"
    kafka_bootstrap: str = "127.0.0.1:9092"
    # PLAINTEXT for the embedded broker; compose.yaml: SASL_PLAINTEXT, or SASL_SSL when the
    # broker has a certificate (kafka_ssl_cafile: the CA that signed it, else the system's)
    kafka_security_protocol: KafkaProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str | None = None
    # retryWrites=false: the embedded server slows down with retry records (DESIGN.md), and our
    # outbox + inbox make a retried write safe without the driver's help.
    mongo_url: str = "mongodb://127.0.0.1:27017/?retryWrites=false"
    mongo_db: str | None = None
    # credentials kept out of the URL (it is logged while the service waits for the database);
    # no username: no authentication, as the embedded server wants
    mongo_username: str = ""
    mongo_password: SecretStr = SecretStr("")
    mongo_auth_source: str = "admin"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    log_level: str = "INFO"
    log_json: bool = True
    auth_url: str = "http://127.0.0.1:8081"
    # consumer tuning (DESIGN.md "Embedded facts")
    kafka_session_timeout_ms: int = 6000
    kafka_heartbeat_interval_ms: int = 2000
    # how long the broker may park a fetch that found nothing (docs/embedded-broker.md):
    # Apache Kafka answers a parked fetch as soon as a record arrives, so this only paces idle
    # polling there; tansu looks again at W/2, 3W/4, 7W/8... of the wait W, so a record arriving
    # into a parked fetch waits W/6 on average and W/2 at most, and every park costs the broker
    # a scan of the consumer's partitions at each of those looks (idle CPU)
    kafka_fetch_wait_ms: int = 100
    # the fetch wait while the consumer is busy: for kafka_active_seconds after a poll that
    # brought records, fetches park this long instead (servicekit.broker.FetchPace), so the
    # next hop of an order in progress waits W/6 of this; an idle consumer parks for
    # kafka_fetch_wait_ms again (idle CPU), and the first record after a quiet spell waits no
    # longer than before. Not below kafka_fetch_wait_ms: no pacing (compose: Apache Kafka)
    kafka_fetch_wait_active_ms: int = Field(default=20, ge=0)
    kafka_active_seconds: float = Field(default=2.0, ge=0)
    # how long one poll of the consumer waits when no record comes (FastStream's
    # batch_timeout_ms); a fetched record ends the wait at once (the PromptBatchSubscriber of
    # servicekit.broker drops FastStream's sleep after an empty poll): it only paces idle loops
    kafka_poll_ms: int = Field(default=500, ge=1)
    # records per batch: also how many different keys may be handled at once
    consumer_batch: int = 64
    # apply the records of one fetched batch in one transaction (one commit, one inbox and
    # one outbox write) instead of one transaction each; off: one transaction per record
    batch_transactions: bool = True
    # outbox relay: how long the relay sleeps when nothing woke it. Every commit in this
    # process wakes it, a start drains what a crash left and a replica that could not take the
    # relay's lease has its holder pass again, so the poll is only a backstop (a holder that
    # died mid-drain); at 1 s it was a quarter of an idle service's CPU
    outbox_poll_seconds: float = 5.0
    outbox_batch: int = 200
    # processes of this service sharing its database and consumer group (`sagashop up
    # --replicas`, compose's deploy.replicas): above 1, the outbox relay and the background
    # loops run under leases in the database (servicekit.lease), held for lease_seconds
    replicas: int = Field(default=1, ge=1)
    lease_seconds: float = Field(default=5.0, gt=0)
    # bounded retry of a handler that keeps failing with a transient error, then DLQ
    handler_attempts: int = 5
    # how long to wait for the database before a request or handler gives up (seconds)
    mongo_timeout_seconds: float = 5.0
    # SIGTERM: how long a graceful stop may take before the process exits without finishing it
    # (the launcher SIGKILLs after 15 s; a crash is safe, only slower to recover from)
    shutdown_grace_seconds: float = 10.0
    # fault injection for crash tests: a comma list of servicekit.faults points
    faults: str = ""

    @property
    def database(self) -> str:
        return self.mongo_db or self.service_name

    @property
    def mongo_credentials(self) -> dict[str, str]:
        """PyMongo's keyword arguments for the user, or none without a username."""
        if not self.mongo_username:
            return {}
        return {
            "username": self.mongo_username,
            "password": self.mongo_password.get_secret_value(),
            "authSource": self.mongo_auth_source,
        }
