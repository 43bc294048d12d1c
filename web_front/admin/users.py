"""`/admin/users`: the users with a search over name, e-mail and phone, and block / unblock /
grant admin, each asked for again on its own page before it is done."""

from __future__ import annotations

import math
from urllib.parse import quote, urlencode

from aiohttp import web

from web_front.admin.access import admin_only, body_of, read
from web_front.edges import call
from web_front.render import render

PAGE_SIZE = 20
ACTIONS = {
    # action -> (the question, the button, what the list says afterwards)
    "block": (
        "Заблокировать пользователя {u}? Он не сможет войти, все его сеансы закончатся.",
        "Заблокировать",
        "Пользователь {u} заблокирован",
    ),
    "unblock": (
        "Разблокировать пользователя {u}? Он снова сможет входить в магазин.",
        "Разблокировать",
        "Пользователь {u} разблокирован",
    ),
    "grant-admin": (
        "Сделать пользователя {u} администратором? Он получит доступ к админке.",
        "Сделать администратором",
        "Пользователь {u} теперь администратор",
    ),
}


@admin_only
async def user_list(request: web.Request) -> web.Response:
    q = request.query.get("who", "").strip()[:100]
    raw_page = request.query.get("page", "1")
    page = max(1, min(int(raw_page), 100_000)) if raw_page.isdigit() else 1
    params = {"page": str(page - 1), "pageSize": str(PAGE_SIZE), **({"q": q} if q else {})}
    found = await read(request, "auth", "/admin/users", **params)
    context = {
        "found": found,
        "q": q,
        "page": page,
        "pages": max(1, math.ceil(found["total"] / PAGE_SIZE)),
        "query": urlencode({"who": q} if q else {}),
        "done": request.query.get("done", ""),
    }
    return await render(request, "admin/users.html", context)


def action_of(request: web.Request) -> tuple[str, str]:
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise web.HTTPNotFound()
    return request.match_info["username"], action


@admin_only
async def confirm(request: web.Request) -> web.Response:
    """The question before the action: the person sees whom it is about and says yes."""
    username, action = action_of(request)
    question, button, _ = ACTIONS[action]
    context = {
        "username": username,
        "action": action,
        "question": question.format(u=username),
        "button": button,
    }
    return await render(request, "admin/confirm.html", context)


@admin_only
async def act(request: web.Request) -> web.StreamResponse:
    username, action = action_of(request)
    answer = await call(request, "auth", "POST", f"/admin/users/{quote(username)}/{action}")
    body_of(answer)  # an unknown user: the 404 page
    done = ACTIONS[action][2].format(u=username)
    raise web.HTTPSeeOther(f"/admin/users?{urlencode({'who': username, 'done': done})}")


def mount(app: web.Application) -> None:
    app.router.add_get("/admin/users", user_list)
    app.router.add_get("/admin/users/{username}/{action}", confirm)
    app.router.add_post("/admin/users/{username}/{action}", act)
