"""`python -m web_front`: serve the shop's pages on SAGASHOP_HTTP_HOST:SAGASHOP_HTTP_PORT."""

from __future__ import annotations

import logging

from aiohttp import web

from web_front.app import create_app
from web_front.settings import FrontSettings


def main() -> None:
    settings = FrontSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    web.run_app(create_app(settings), host=settings.http_host, port=settings.http_port, print=None)


if __name__ == "__main__":
    main()
