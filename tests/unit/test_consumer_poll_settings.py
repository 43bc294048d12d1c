"""The consumer's two waits (docs/embedded-broker.md): the broker's fetch park and FastStream's
poll, after an empty one of which it sleeps as long again; a record fetched during that sleep
waits for it, so the poll is short and no longer tied to the fetch wait."""

from pathlib import Path

import yaml

from servicekit.broker import subscriber_options
from servicekit.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def test_an_idle_consumer_sleeps_at_most_10_ms_between_polls_by_default() -> None:
    options = subscriber_options(ServiceSettings(), "g")
    assert options["batch_timeout_ms"] == 10
    assert options["fetch_max_wait_ms"] == 100


def test_the_poll_and_the_fetch_wait_are_set_apart() -> None:
    settings = ServiceSettings(kafka_fetch_wait_ms=500, kafka_poll_ms=20)
    options = subscriber_options(settings, "g")
    assert (options["fetch_max_wait_ms"], options["batch_timeout_ms"]) == (500, 20)


def test_compose_lets_apache_kafka_park_fetches_for_its_default_500_ms() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert compose["x-infra-env"]["SAGASHOP_KAFKA_FETCH_WAIT_MS"] == "500"
