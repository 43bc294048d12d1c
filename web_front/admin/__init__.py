"""The admin pages (`/admin/**`): orders with their saga's timeline, status changes and
refunds, users, and stock per warehouse. Only users with the admin role reach them."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from web_front.admin import labels, mail, order_actions, orders, stock, undo, users, warehouse


def mount(app: web.Application) -> None:
    aiohttp_jinja2.get_env(app).filters["actor"] = labels.actor
    for module in (orders, order_actions, undo, users, stock, warehouse, mail):
        module.mount(app)
