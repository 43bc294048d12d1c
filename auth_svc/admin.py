"""Admin routes over users (list, block, unblock, grant admin) and the CLI's first admin."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from auth_svc import domain
from auth_svc.accounts import Accounts, user_body
from auth_svc.http import profile
from auth_svc.settings import AuthSettings
from schemas.auth import RegisterRequest, UserBlocked, UserBody, UserPage, UserRoles
from servicekit import migrations
from servicekit.errors import Forbidden, NotFound
from servicekit.http import read_query, reply
from servicekit.identity import session_id
from servicekit.mongo import Doc
from servicekit.unit import Tx


class UserQuery(BaseModel):
    q: str | None = Field(default=None, max_length=100)
    page: int = Field(default=0, ge=0)
    pageSize: int = Field(default=20, ge=1, le=200)  # the query parameter's name


def with_admin(roles: list[str]) -> tuple[str, ...]:
    """The roles with `admin` added once (an admin made one again keeps one)."""
    return tuple(dict.fromkeys([*roles, domain.ADMIN]))


async def create_admin(accounts: Accounts, req: RegisterRequest) -> UserBody:
    """Create an admin, or make an existing user (by username) an admin."""
    existing = await accounts.repo.user(req.username or "")
    if existing is None:
        return await accounts.register(req, roles=(domain.CUSTOMER, domain.ADMIN))
    await accounts.repo.add_role(existing["_id"], domain.ADMIN)
    return user_body({**existing, "roles": with_admin(existing["roles"])})


def mount(accounts: Accounts) -> None:
    routes, repo = accounts.service.routes, accounts.repo

    async def admin(request: web.Request) -> Doc:
        caller = await accounts.who(session_id(request))
        if domain.ADMIN not in caller.get("roles", ()):
            raise Forbidden("Forbidden: admin role required")
        return caller

    async def target(request: web.Request) -> Doc:
        user = await repo.user(request.match_info["username"])
        if user is None:
            raise NotFound("user not found")
        return user

    @routes.get("/admin/users", response=UserPage, auth="admin", query=UserQuery)
    async def list_users(request: web.Request) -> web.Response:
        """Users, oldest first, with paging and a search over name, e-mail and phone."""
        await admin(request)
        query = read_query(request, UserQuery)
        docs, total = await repo.page_users(query.q, query.page, query.pageSize)
        return reply(
            UserPage(
                items=tuple(profile(d) for d in docs),
                page=query.page,
                page_size=query.pageSize,
                total=total,
            )
        )

    @routes.post("/admin/users/{username}/block", response=UserBlocked, auth="admin")
    async def block(request: web.Request) -> web.Response:
        """Block a user: they cannot log in and every session of theirs ends."""
        await admin(request)
        user = await target(request)

        async def apply(tx: Tx) -> None:
            await repo.update_user(user["_id"], {"blocked": True}, tx.session)
            await repo.end_sessions(user["username"], session=tx.session)

        await accounts.service.transaction(apply)
        return reply(UserBlocked(username=user["username"], blocked=True))

    @routes.post("/admin/users/{username}/unblock", response=UserBlocked, auth="admin")
    async def unblock(request: web.Request) -> web.Response:
        """Let a blocked user log in again."""
        await admin(request)
        user = await target(request)
        await repo.update_user(user["_id"], {"blocked": False})
        return reply(UserBlocked(username=user["username"], blocked=False))

    @routes.post("/admin/users/{username}/grant-admin", response=UserRoles, auth="admin")
    async def grant_admin(request: web.Request) -> web.Response:
        """Give a user the admin role."""
        await admin(request)
        user = await target(request)
        await repo.add_role(user["_id"], domain.ADMIN)
        return reply(UserRoles(username=user["username"], roles=with_admin(user["roles"])))


async def create_admin_from_cli(settings: AuthSettings, req: RegisterRequest) -> UserBody:
    """`sagashop admin create`: straight to auth_svc's database (the running service's outbox
    relay publishes the registration event), after the service's own startup steps."""
    from auth_svc.app import build  # here: app imports this module

    service = build(settings)
    try:
        await migrations.apply(service.db, service.steps)
        return await create_admin(Accounts(service, settings), req)
    finally:
        await service.mongo.close()
