"""Create every registry topic (and its DLQ) on the broker at SAGASHOP_KAFKA_BOOTSTRAP, then
exit: the one-shot `topics` service in compose.yaml runs `python -m launcher.topics`. The broker's
security (SASL, TLS) comes from the same settings as a service's (servicekit.settings)."""

from __future__ import annotations

import asyncio

from launcher.embedded import create_topics
from servicekit.broker import kafka_client_options
from servicekit.settings import ServiceSettings


def main() -> None:
    settings = ServiceSettings(service_name="topics")
    asyncio.run(create_topics(settings.kafka_bootstrap, **kafka_client_options(settings)))


if __name__ == "__main__":
    main()
