"""The consumer's two waits (docs/embedded-broker.md): the broker's fetch park and the poll of
FastStream's batch loop. FastStream sleeps as long as a poll after an empty one, and a record
fetched during that sleep waits for it; servicekit's PromptBatchSubscriber drops that sleep, so
a long poll (few wake-ups of an idle service) costs a record no wait."""

import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaConsumer
from aiokafka.consumer.fetcher import Fetcher
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber import usecase
from faststream.kafka.subscriber.usecase import BatchSubscriber

from servicekit import broker as broker_module
from servicekit.broker import FetchPace, PromptBatchSubscriber, prompt, subscriber_options
from servicekit.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def test_an_idle_consumer_polls_twice_a_second_and_parks_fetches_for_100_ms_by_default() -> None:
    options = subscriber_options(ServiceSettings(), "g")
    assert options["batch_timeout_ms"] == 500
    assert options["fetch_max_wait_ms"] == 100


def test_the_poll_and_the_fetch_wait_are_set_apart() -> None:
    settings = ServiceSettings(kafka_fetch_wait_ms=500, kafka_poll_ms=20)
    options = subscriber_options(settings, "g")
    assert (options["fetch_max_wait_ms"], options["batch_timeout_ms"]) == (500, 20)


def test_compose_lets_apache_kafka_park_fetches_for_its_default_500_ms_busy_or_not() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert compose["x-infra-env"]["SAGASHOP_KAFKA_FETCH_WAIT_MS"] == "500"
    assert compose["x-infra-env"]["SAGASHOP_KAFKA_FETCH_WAIT_ACTIVE_MS"] == "500"
    settings = ServiceSettings(kafka_fetch_wait_ms=500, kafka_fetch_wait_active_ms=500)
    assert FetchPace.of(settings) is None


class Fetching:
    """The part of an aiokafka consumer FetchPace touches: its fetcher's wait."""

    def __init__(self) -> None:
        self._fetcher = type("FetcherState", (), {"_fetch_max_wait_ms": 100})()

    @property
    def wait_ms(self) -> int:
        return int(self._fetcher._fetch_max_wait_ms)


def test_a_busy_consumer_parks_its_fetches_20_ms_and_an_idle_one_100_ms_again(
    monkeypatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(broker_module.time, "monotonic", lambda: clock[0])
    pace = FetchPace.of(ServiceSettings())
    assert pace is not None and (pace.idle_ms, pace.active_ms) == (100, 20)
    consumer: Any = Fetching()
    pace.after_poll(consumer, fetched=False)
    assert consumer.wait_ms == 100  # idle from the start
    pace.after_poll(consumer, fetched=True)
    assert consumer.wait_ms == 20  # the next fetch after records parks briefly
    clock[0] += 1.9
    pace.after_poll(consumer, fetched=False)
    assert consumer.wait_ms == 20  # still busy within 2 s of the last records
    clock[0] += 0.2
    pace.after_poll(consumer, fetched=False)
    assert consumer.wait_ms == 100  # quiet for 2 s: back to the idle park


def test_notices_idle_at_500_ms_while_the_services_on_an_orders_way_idle_at_100() -> None:
    # the first order after a quiet spell meets 100 ms parks at every hop as before; only the
    # consumer nothing waits for (the notices that follow a status) parks longer when idle
    from billing_svc.settings import BillingSettings
    from delivery_svc.settings import DeliverySettings
    from notification_svc.settings import NotificationSettings
    from orchestra.settings import OrchestraSettings
    from order_svc.settings import OrderSettings
    from payment_svc.settings import PaymentSettings
    from store_svc.settings import StoreSettings

    on_the_way = (
        OrderSettings, OrchestraSettings, StoreSettings, PaymentSettings, DeliverySettings,
        BillingSettings,
    )  # fmt: skip
    for settings in on_the_way:
        pace = FetchPace.of(settings())
        assert pace is not None and (pace.idle_ms, pace.active_ms) == (100, 20), settings
    notices = FetchPace.of(NotificationSettings())
    assert notices is not None and (notices.idle_ms, notices.active_ms) == (500, 20)


async def test_the_prompt_subscriber_paces_the_fetches_of_its_consumer() -> None:
    pace = FetchPace.of(ServiceSettings())
    subscriber = prompt(batch_subscriber(), pace)
    consumer: Any = Fetching()
    consumer.getmany = Polls({"tp0": ["a"]}, {}).getmany
    assert await subscriber.get_msg(consumer) == ("a",)
    assert consumer.wait_ms == 20


def test_aiokafka_still_reads_the_fetch_wait_from_its_fetcher_for_every_request() -> None:
    """FetchPace sets a private attribute: this fails if aiokafka stops using it."""
    assert "self._fetcher = Fetcher(" in inspect.getsource(AIOKafkaConsumer.start)
    assert "self._fetch_max_wait_ms," in inspect.getsource(Fetcher._get_actions_per_node)


class Polls:
    """An aiokafka consumer's getmany as the subscriber sees it: answers from a script."""

    def __init__(self, *answers: dict[Any, list[Any]]) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[int, int | None]] = []

    async def getmany(self, timeout_ms: int, max_records: int | None) -> dict[Any, list[Any]]:
        self.asked.append((timeout_ms, max_records))
        return self.answers.pop(0)


def batch_subscriber() -> Any:
    broker = KafkaBroker("127.0.0.1:9")
    options = subscriber_options(ServiceSettings(), "g")
    return broker.subscriber("t", **options)


async def test_faststreams_own_batch_loop_sleeps_after_an_empty_poll(monkeypatch) -> None:
    """What PromptBatchSubscriber is for: with FastStream's class an empty poll is followed
    by a sleep as long as the poll (a record fetched meanwhile waits for it)."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(usecase.anyio, "sleep", sleep)
    subscriber = batch_subscriber()
    assert type(subscriber) is BatchSubscriber
    assert await subscriber.get_msg(Polls({})) == ()
    assert slept == [0.5]


async def test_the_prompt_subscriber_polls_again_at_once_after_an_empty_poll(monkeypatch) -> None:
    async def sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s after an empty poll")

    monkeypatch.setattr(usecase.anyio, "sleep", sleep)
    subscriber = prompt(batch_subscriber())
    assert isinstance(subscriber, PromptBatchSubscriber)
    polls = Polls({}, {"tp0": ["a", "b"], "tp1": ["c"]})
    assert await subscriber.get_msg(polls) == ()
    assert await subscriber.get_msg(polls) == ("a", "b", "c")
    assert polls.asked == [(500, 64), (500, 64)]


def test_only_a_batch_subscriber_is_made_prompt() -> None:
    broker = KafkaBroker("127.0.0.1:9")
    with pytest.raises(TypeError, match="not a FastStream batch subscriber"):
        prompt(broker.subscriber("t", group_id="g"))
