"""Register (001 §1 scenario 1), log in, log out. The session auth hands out becomes the
front's own HttpOnly cookie: the browser never talks to auth itself."""

from __future__ import annotations

import re

from aiohttp import web

from servicekit.identity import SESSION_COOKIE
from web_front.edges import EDGES, Visitor, call
from web_front.forms import Form, read_form
from web_front.render import render

REGISTER_FIELDS = ("username", "firstName", "lastName", "password", "email", "phone")
REGISTER_MISSING = {
    "username": "Введите имя пользователя (логин)",
    "firstName": "Введите имя",
    "lastName": "Введите фамилию",
    "password": "Введите пароль",
    "email": "Введите e-mail",
    "phone": "Введите номер телефона",
}
LOGIN_FIELDS = ("username", "password")
LOGIN_MISSING = {
    "username": "Введите имя пользователя, e-mail или телефон",
    "password": "Введите пароль",
}
SESSION_SECONDS = 7 * 24 * 3600
PHONE_LIKE = re.compile(r"\+?[\d\s()-]{10,20}")


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path of this site (never another host)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def with_session(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        path="/",
    )


def login_route(login: str) -> tuple[str, str]:
    """auth's login path and body field for what the person typed: an e-mail, a phone
    number or a username (004 lets a customer log in by any of them)."""
    if "@" in login:
        return "/login/email", "email"
    if PHONE_LIKE.fullmatch(login):
        return "/login/phone", "phone"
    return "/login", "username"


async def log_in(request: web.Request, login: str, password: str) -> tuple[str | None, str]:
    """The session token, or None and auth's errorMessage."""
    path, field = login_route(login)
    answer, token = await request.app[EDGES].login(
        request, path, {field: login, "password": password}
    )
    return token, ("" if token else answer.error)


async def render_login(request: web.Request, form: Form, status: int = 200) -> web.Response:
    context = {"form": form, "next": safe_next(request.query.get("next"))}
    return await render(request, "login.html", context, status=status)


async def login_page(request: web.Request) -> web.Response:
    return await render_login(request, Form())


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request, LOGIN_FIELDS)
    form.require(LOGIN_FIELDS, LOGIN_MISSING)
    if form.ok:
        token, error = await log_in(request, form.values["username"], form.values["password"])
        if token:
            redirect = web.HTTPSeeOther(safe_next(request.query.get("next")))
            with_session(redirect, request, token)
            raise redirect
        form.edge_error(error)
    form.values.pop("password", None)  # a password is never drawn back into a page
    return await render_login(request, form, status=400)


async def logout(request: web.Request) -> web.StreamResponse:
    await call(request, "auth", "POST", "/logout", idempotent=True)
    redirect = web.HTTPSeeOther("/")
    redirect.del_cookie(SESSION_COOKIE, path="/")
    raise redirect


async def render_register(request: web.Request, form: Form, status: int = 200) -> web.Response:
    return await render(request, "register.html", {"form": form}, status=status)


async def register_page(request: web.Request) -> web.Response:
    return await render_register(request, Form())


async def register_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request, REGISTER_FIELDS)
    form.require(REGISTER_FIELDS, REGISTER_MISSING)
    if form.ok:
        answer = await call(request, "auth", "POST", "/register", json=form.values)
        if answer.ok:
            return await registered(request, form)
        form.edge_error(answer.error)
    return await render_register(request, form, status=400)


async def registered(request: web.Request, form: Form) -> web.Response:
    """The result page (001): the new account, already logged in when auth lets us."""
    token, _ = await log_in(request, form.values["username"], form.values["password"])
    account = {k: v for k, v in form.values.items() if k != "password"}
    if token:  # the header of this very page already shows the new customer
        request["visitor"] = Visitor(username=account["username"], first_name=account["firstName"])
    context = {"account": account, "logged_in": bool(token)}
    response = await render(request, "registered.html", context)
    if token:
        with_session(response, request, token)
    return response


def mount(app: web.Application) -> None:
    app.router.add_get("/register", register_page)
    app.router.add_post("/register", register_submit)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
