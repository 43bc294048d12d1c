"""Password change and reset, e-mail and phone verification (004). Codes and reset tokens go
to the user through notification_svc (an outbox message), never in an API answer; only their
digests are stored."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from auth_svc import domain
from auth_svc.accounts import Accounts
from auth_svc.http import client_address
from schemas import topics
from schemas.auth import (
    AccountNotificationKind,
    AccountNotificationRequest,
    CodeSent,
    PasswordChange,
    PasswordChanged,
    PasswordReset,
    ResetConfirm,
    ResetRequest,
    Verified,
    VerifyConfirm,
)
from schemas.notification import Channel
from servicekit.errors import InvalidRequest, NotFound, TooManyRequests
from servicekit.http import read_body, reply
from servicekit.identity import session_id
from servicekit.mongo import Doc
from servicekit.unit import Tx

BAD_RESET_TOKEN = "reset token is invalid, expired or already used"  # noqa: S105 - an error message, not a password
CHANNELS = {"email": Channel.EMAIL, "phone": Channel.SMS}


def notice(
    user: Doc, kind: AccountNotificationKind, channel: Channel, secret: str, expires: object
) -> AccountNotificationRequest:
    return AccountNotificationRequest.model_validate(
        {
            "username": user["username"],
            "kind": kind,
            "channel": channel,
            "userEmail": user["email"],
            "userPhone": user["phone"],
            "secret": secret,
            "expiresAt": expires,
        }
    )


def mount(accounts: Accounts) -> None:
    routes, repo, settings = accounts.service.routes, accounts.repo, accounts.settings

    @routes.post("/password/change", body=PasswordChange, response=PasswordChanged, auth="customer")
    async def change(request: web.Request) -> web.Response:
        """Change the password; every other session of the user ends."""
        token = session_id(request)
        user = await accounts.who(token)
        req = await read_body(request, PasswordChange)
        if not await accounts.passwords.verify(user["passwordHash"], req.current_password):
            raise domain.BadCredentials()
        await accounts.set_password(user["_id"], req.new_password, keep_session=token)
        return reply(PasswordChanged(changed=True))

    async def issue_reset(user: Doc, channel: Channel) -> None:
        """A new reset token (older ones stop working), sent through notification_svc."""
        token, now = domain.new_secret(), accounts.clock()
        expires = now + timedelta(seconds=settings.reset_ttl_seconds)
        kind = AccountNotificationKind.PASSWORD_RESET
        stored = {"_id": domain.digest(token), "username": user["_id"], "expiresAt": expires}

        async def issue(tx: Tx) -> None:
            await repo.void_resets(user["_id"], now, tx.session)
            await repo.resets.insert_one(
                {**stored, "usedAt": None, "createdAt": now}, session=tx.session
            )
            tx.emit(
                topics.AUTH_NOTIFICATIONS,
                notice(user, kind, channel, token, expires),
                key=user["username"],
            )

        await accounts.service.transaction(issue)

    @routes.post("/password/reset/request", body=ResetRequest, response=CodeSent, status=202)
    async def reset_request(request: web.Request) -> web.Response:
        """Send a single-use reset token by e-mail or SMS. The answer is the same whether or
        not the account exists."""
        req = await read_body(request, ResetRequest)
        if not (req.email or req.phone):
            raise InvalidRequest("email or phone should be provided")
        email = domain.normalize_email(req.email) if req.email else None
        phone = domain.normalize_phone(req.phone) if req.phone and not email else None
        address = client_address(request, settings)
        await accounts.check_send(address, f"reset:{email or phone}")
        user = await repo.user_by_contact(email, phone)
        if user is not None and not user.get("blocked"):
            await issue_reset(user, Channel.EMAIL if email else Channel.SMS)
        return reply(CodeSent(sent=True), status=202)

    @routes.post("/password/reset/confirm", body=ResetConfirm, response=PasswordReset)
    async def reset_confirm(request: web.Request) -> web.Response:
        """Set a new password with a reset token; the token is used up and every session of
        the user ends."""
        req = await read_body(request, ResetConfirm)
        password, now = domain.check_password(req.new_password), accounts.clock()
        live = {"_id": domain.digest(req.reset_token), "usedAt": None, "expiresAt": {"$gt": now}}
        if await repo.resets.find_one(live) is None:  # before the costly hash
            raise InvalidRequest(BAD_RESET_TOKEN)
        hashed = await accounts.passwords.hash(password)

        async def reset(tx: Tx) -> None:
            token = await repo.resets.find_one_and_update(
                live, {"$set": {"usedAt": now}}, session=tx.session
            )
            if token is None:  # used or voided meanwhile
                raise InvalidRequest(BAD_RESET_TOKEN)
            await repo.update_user(token["username"], {"passwordHash": hashed}, tx.session)
            await repo.end_sessions(token["username"], session=tx.session)
            await repo.void_resets(token["username"], now, tx.session)

        await accounts.service.transaction(reset)
        return reply(PasswordReset(reset=True))

    @routes.post(
        "/verify/{channel:email|phone}/send", response=CodeSent, status=202, auth="customer"
    )
    async def verify_send(request: web.Request) -> web.Response:
        """Send a 6-digit code to the caller's e-mail or phone (a new code replaces the old)."""
        user = await accounts.who(session_id(request))
        name = request.match_info["channel"]
        address = client_address(request, settings)
        await accounts.check_send(address, f"verify:{user['_id']}:{name}")
        code, now = domain.new_code(), accounts.clock()
        expires = now + timedelta(seconds=settings.code_ttl_seconds)
        kind = AccountNotificationKind.VERIFICATION_CODE

        async def issue(tx: Tx) -> None:
            await repo.codes.replace_one(
                {"_id": f"{user['_id']}:{name}"},
                {"digest": domain.digest(code), "expiresAt": expires, "attempts": 0},
                upsert=True,
                session=tx.session,
            )
            tx.emit(
                topics.AUTH_NOTIFICATIONS,
                notice(user, kind, CHANNELS[name], code, expires),
                key=user["username"],
            )

        await accounts.service.transaction(issue)
        return reply(CodeSent(sent=True, expires_at=expires), status=202)

    @routes.post(
        "/verify/{channel:email|phone}/confirm",
        body=VerifyConfirm,
        response=Verified,
        auth="customer",
    )
    async def verify_confirm(request: web.Request) -> web.Response:
        """Confirm the code; after `code_attempts` wrong tries the code is void."""
        user = await accounts.who(session_id(request))
        name = request.match_info["channel"]
        req = await read_body(request, VerifyConfirm)
        key = {"_id": f"{user['_id']}:{name}"}
        live = {**key, "expiresAt": {"$gt": accounts.clock()}}
        # the try is counted before the code is compared: parallel guesses cannot share a count
        code = await repo.codes.find_one_and_update(
            {**live, "attempts": {"$lt": settings.code_attempts}}, {"$inc": {"attempts": 1}}
        )
        if code is None and await repo.codes.find_one(live) is None:
            raise NotFound("no active verification code; request a new one")
        if code is None:
            raise TooManyRequests("too many wrong codes; request a new one", retry_after=1)
        if not domain.same_digest(req.code, code["digest"]):
            raise InvalidRequest("invalid verification code")
        await repo.update_user(user["_id"], {f"{name}Verified": True})
        await repo.codes.delete_one(key)
        return reply(Verified(verified=True))
