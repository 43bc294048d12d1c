"""The admin pages (`/admin/**`): orders with their saga's timeline, status changes and
refunds, users, and stock per warehouse. Only users with the admin role reach them."""

from __future__ import annotations

from aiohttp import web

from web_front.admin import mail, order_actions, orders, stock, undo, users, warehouse


def mount(app: web.Application) -> None:
    for module in (orders, order_actions, undo, users, stock, warehouse, mail):
        module.mount(app)
