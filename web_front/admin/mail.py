"""`/admin/mail` ("Письма"): the e-mails the shop sent, newest first, and one e-mail with its
text and HTML parts. They are read from the mail catcher through Mailpit's API: the
launcher's mail_sim answers it, and compose points `SAGASHOP_MAIL_URL` at Mailpit itself.
An e-mail's HTML never becomes part of the admin's page: it is shown in a sandboxed frame
(`srcdoc`, no scripts, no forms, an origin of its own)."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from servicekit.errors import ServiceUnavailable
from servicekit.neighbours import Answer
from web_front.admin.access import admin_only
from web_front.admin.orders import page_number
from web_front.edges import EDGES
from web_front.pages.orders import moscow_time
from web_front.render import render

PAGE_SIZE = 20
AWAY = "Почтовый сервер не отвечает, поэтому письма сейчас не видны. Попробуйте через минуту."


async def from_catcher(request: web.Request, path: str, **params: str) -> Answer | None:
    """The catcher's answer, or None when it does not answer. No session goes with it: the
    catcher is not one of the shop's services."""
    try:
        return await request.app[EDGES].by_name["mail"].call("GET", path, params=params or None)
    except ServiceUnavailable:
        return None


def recipients(mail: dict[str, Any]) -> str:
    return ", ".join(str(to.get("Address", "")) for to in mail.get("To") or [])


def listed(mail: dict[str, Any]) -> dict[str, str]:
    return {
        "id": str(mail["ID"]),
        "to": recipients(mail),
        "subject": str(mail.get("Subject") or "(без темы)"),
        "sent": moscow_time(mail.get("Created")),
    }


@admin_only
async def mail_list(request: web.Request) -> web.Response:
    page = page_number(request)
    start = str((page - 1) * PAGE_SIZE)
    answer = await from_catcher(request, "/api/v1/messages", start=start, limit=str(PAGE_SIZE))
    if answer is None or not answer.ok or not isinstance(answer.body, dict):
        return await render(request, "admin/mail_list.html", {"away": AWAY}, status=503)
    total = int(answer.body.get("total", 0))
    context = {
        "mails": [listed(m) for m in answer.body.get("messages") or []],
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
    }
    return await render(request, "admin/mail_list.html", context)


@admin_only
async def mail_message(request: web.Request) -> web.Response:
    answer = await from_catcher(request, f"/api/v1/message/{request.match_info['id']}")
    if answer is not None and answer.status == 404:
        raise web.HTTPNotFound()
    if answer is None or not answer.ok or not isinstance(answer.body, dict):
        return await render(request, "admin/mail_message.html", {"away": AWAY}, status=503)
    mail = answer.body
    sender = mail.get("From") or {}
    context = {
        "mail": {
            "from": f"{sender.get('Name', '')} <{sender.get('Address', '')}>".strip(),
            "to": recipients(mail),
            "subject": str(mail.get("Subject") or "(без темы)"),
            "sent": moscow_time(mail.get("Date")),
            "text": str(mail.get("Text") or ""),
            "html": str(mail.get("HTML") or ""),
        }
    }
    return await render(request, "admin/mail_message.html", context)


def mount(app: web.Application) -> None:
    app.router.add_get("/admin/mail", mail_list)
    app.router.add_get(r"/admin/mail/{id:[A-Za-z0-9_-]{1,80}}", mail_message)
