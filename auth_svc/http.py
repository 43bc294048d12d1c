"""auth_svc's edge, sessions part: 001 `POST /register`, `POST /login`, `GET /auth`,
`GET /logout` (paths, bodies, codes, the `sessionId` cookie exactly as in the seed; `POST /logout`
is the safe logout), 004's register/login by e-mail or phone, and the profile."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from auth_svc import domain
from auth_svc.accounts import Accounts, user_body
from auth_svc.settings import AuthSettings
from schemas.auth import (
    LoggedOut,
    LoginRequest,
    ProfileBody,
    ProfilePatch,
    RegisterRequest,
    UserBody,
)
from servicekit.errors import Forbidden, InvalidRequest
from servicekit.forwarding import counted_address
from servicekit.http import read_body, reply
from servicekit.identity import SESSION_COOKIE, session_id
from servicekit.mongo import Doc

OLD_SESSION_COOKIE = "oldSessionId"


def client_address(request: web.Request, settings: AuthSettings) -> str:
    """Whose attempts a request counts as: web_front's visitor (it proves itself with
    SAGASHOP_FRONT_TOKEN), else the client past the trusted proxies (servicekit.forwarding)."""
    return counted_address(request, settings.proxy_hops, settings.front_token)


def cross_site(request: web.Request) -> bool:
    """Sent by a page of another site or of another port of this host (SameSite=Lax cookies
    go along with both): the browser says so in Sec-Fetch-Site, or the Origin is not ours.
    A request with neither header (a script, an API client, the seed's tests) is not."""
    if request.headers.get("Sec-Fetch-Site", "") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc != request.host


def profile(doc: Doc) -> ProfileBody:
    return ProfileBody(
        **user_body(doc).model_dump(),
        email_verified=doc.get("emailVerified", False),
        phone_verified=doc.get("phoneVerified", False),
        blocked=doc.get("blocked", False),
    )


def mount(accounts: Accounts) -> None:
    routes = accounts.service.routes
    settings = accounts.settings

    def secure(request: web.Request) -> bool:
        if settings.cookie_secure is not None:
            return settings.cookie_secure
        tls = request.secure or (
            settings.proxy_hops > 0 and request.headers.get("X-Forwarded-Proto") == "https"
        )
        return tls or not domain.is_loopback(request.host)

    def with_cookie(request: web.Request, body: UserBody, token: str) -> web.Response:
        response = reply(body)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=settings.session_ttl_seconds,
            httponly=True,
            samesite="Lax",
            secure=secure(request),
            path="/",
        )
        return response

    async def register(request: web.Request, by: str | None = None) -> web.Response:
        req = await read_body(request, RegisterRequest)
        username = None
        if by == "email" and req.email:
            username = domain.normalize_email(req.email)
        elif by == "phone" and req.phone:
            username = domain.normalize_phone(req.phone)
        address = client_address(request, settings)
        # a registration may send a message to its contacts, and costs an argon2 hash
        contacts = [domain.contact_key(c) for c in (req.email, req.phone) if c]
        await accounts.check_send(address, *contacts)
        return reply(await accounts.register(req, username=username))

    @routes.post("/register", body=RegisterRequest, response=UserBody)
    async def register_username(request: web.Request) -> web.Response:
        """Register a customer (001): username, firstName, lastName, email, phone, password."""
        return await register(request)

    @routes.post("/register/email", body=RegisterRequest, response=UserBody)
    async def register_email(request: web.Request) -> web.Response:
        """Register with the e-mail as the login (004)."""
        return await register(request, by="email")

    @routes.post("/register/phone", body=RegisterRequest, response=UserBody)
    async def register_phone(request: web.Request) -> web.Response:
        """Register with the phone as the login (004)."""
        return await register(request, by="phone")

    async def login(request: web.Request, field: str) -> web.Response:
        req = await read_body(request, LoginRequest)
        name = getattr(req, field)
        if not (name and req.password):
            what = "Username" if field == "username" else field.capitalize()
            raise InvalidRequest(f"{what} and password should be provided")
        address = client_address(request, settings)
        body, token = await accounts.login(name, req.password, address)
        for old in (request.cookies.get(OLD_SESSION_COOKIE), session_id(request)):
            await accounts.end_session(old)  # login rotates the session
        return with_cookie(request, body, token)

    @routes.post("/login", body=LoginRequest, response=UserBody)
    async def login_username(request: web.Request) -> web.Response:
        """Log in by username (or e-mail or phone); sets the `sessionId` cookie."""
        return await login(request, "username")

    @routes.post("/login/email", body=LoginRequest, response=UserBody)
    async def login_email(request: web.Request) -> web.Response:
        """Log in by e-mail (004)."""
        return await login(request, "email")

    @routes.post("/login/phone", body=LoginRequest, response=UserBody)
    async def login_phone(request: web.Request) -> web.Response:
        """Log in by phone (004)."""
        return await login(request, "phone")

    @routes.get("/auth", response=UserBody, auth="customer")
    async def auth(request: web.Request) -> web.Response:
        """Who owns this session (used by every other edge): 401 none, 403 blocked."""
        return reply(user_body(await accounts.who(session_id(request))))

    @routes.post("/logout", response=LoggedOut)
    async def logout(request: web.Request) -> web.Response:
        """End the session; the cookie is emptied. Refused (403) from another site's page."""
        return await end_session(request)

    @routes.get("/logout", response=LoggedOut)
    async def logout_by_get(request: web.Request) -> web.Response:
        """Seed 001's logout, kept for its clients; a browser's cross-site navigation (a link
        or an image on another site) is refused, so it cannot log anyone out. Use POST."""
        return await end_session(request)

    async def end_session(request: web.Request) -> web.Response:
        if cross_site(request):
            raise Forbidden("cross-site logout refused")
        await accounts.end_session(session_id(request))
        response = reply(LoggedOut())
        response.set_cookie(SESSION_COOKIE, "", max_age=0, httponly=True, samesite="Lax", path="/")
        return response

    @routes.get("/users/me", response=ProfileBody, auth="customer")
    async def me(request: web.Request) -> web.Response:
        """The caller's profile (004)."""
        return reply(profile(await accounts.who(session_id(request))))

    @routes.patch("/users/me", body=ProfilePatch, response=ProfileBody, auth="customer")
    async def patch_me(request: web.Request) -> web.Response:
        """Change first or last name (004)."""
        user = await accounts.who(session_id(request))
        patch = await read_body(request, ProfilePatch)
        named = {"firstName": patch.first_name, "lastName": patch.last_name}
        changes = {k: domain.check_name(v, k) for k, v in named.items() if v is not None}
        if changes:
            await accounts.repo.update_user(user["_id"], changes)
        return reply(profile({**user, **changes}))
