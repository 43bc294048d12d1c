"""The aiohttp application: templates and static files from this package, the middlewares
every page relies on, and the page modules' routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from web_front import admin, security
from web_front.edges import EDGES, Edges
from web_front.money import rubles
from web_front.pages import (
    account,
    cabinet,
    cart,
    catalog,
    checkout,
    gift_cards,
    orders,
    pay,
    system,
)
from web_front.settings import FrontSettings

PACKAGE = Path(__file__).resolve().parent
SETTINGS = web.AppKey("settings", FrontSettings)


def create_app(settings: FrontSettings | None = None) -> web.Application:
    settings = settings or FrontSettings()
    app = web.Application(middlewares=[security.protect, security.friendly_errors])
    app[SETTINGS] = settings
    app[security.SECRET] = settings.web_secret
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(PACKAGE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    env.filters["rubles"] = rubles

    async def edges_ctx(app: web.Application) -> AsyncIterator[None]:
        app[EDGES] = Edges(settings)
        yield
        await app[EDGES].close()

    app.cleanup_ctx.append(edges_ctx)
    for module in (
        system,
        account,
        catalog,
        pay,
        gift_cards,
        cabinet,
        cart,
        checkout,
        orders,
        admin,
    ):
        module.mount(app)
    app.router.add_static("/static", PACKAGE / "static", name="static")
    return app
