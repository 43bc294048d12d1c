"""Create every registry topic (and its DLQ) on the broker at SAGASHOP_KAFKA_BOOTSTRAP, then
exit: the one-shot `topics` service in compose.yaml runs `python -m launcher.topics`."""

from __future__ import annotations

import asyncio
import os

from launcher.embedded import create_topics


def main() -> None:
    asyncio.run(create_topics(os.environ["SAGASHOP_KAFKA_BOOTSTRAP"]))


if __name__ == "__main__":
    main()
