"""Account operations shared by the edge and the CLI: register, log in, sessions, roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from auth_svc import domain
from auth_svc.adapters import Passwords
from auth_svc.repository import Repository
from auth_svc.settings import AuthSettings
from schemas import topics
from schemas.auth import RegisterRequest, UserBody, UserRegistered
from servicekit.errors import InvalidRequest
from servicekit.mongo import Doc, utcnow
from servicekit.service import Service
from servicekit.unit import Tx

Clock = Callable[[], datetime]


def user_body(doc: Doc) -> UserBody:
    return UserBody(
        username=doc["username"],
        first_name=doc["firstName"],
        last_name=doc["lastName"],
        email=doc["email"],
        phone=doc["phone"],
        roles=tuple(doc.get("roles", ())),
    )


class Accounts:
    def __init__(self, service: Service, settings: AuthSettings, clock: Clock = utcnow) -> None:
        self.service = service
        self.settings = settings
        self.repo = Repository(service.db)
        self.passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
        self.clock = clock
        self.window = timedelta(seconds=settings.login_window_seconds)
        self.by_account = domain.Throttle(settings.login_limit_account, self.window)
        self.by_address = domain.Throttle(settings.login_limit_address, self.window)

    async def register(
        self,
        req: RegisterRequest,
        roles: tuple[str, ...] = (domain.CUSTOMER,),
        username: str | None = None,
    ) -> UserBody:
        username = username or req.username
        if not (username and req.password and req.email):
            raise InvalidRequest("Username, password, email should be provided")
        if not req.phone:
            raise InvalidRequest("Phone should be provided")
        doc: Doc = {
            "_id": domain.check_username(username).lower(),
            "username": username,
            "firstName": domain.check_name(req.first_name, "firstName"),
            "lastName": domain.check_name(req.last_name, "lastName"),
            "email": domain.normalize_email(req.email),
            "phone": domain.normalize_phone(req.phone),
            "passwordHash": await self.passwords.hash(domain.check_password(req.password)),
            "roles": list(roles),
            "blocked": False,
            "emailVerified": False,
            "phoneVerified": False,
            "createdAt": self.clock(),
            "version": 0,
        }
        event = UserRegistered(
            username=doc["username"],
            first_name=doc["firstName"],
            last_name=doc["lastName"],
            email=doc["email"],
            phone=doc["phone"],
        )

        async def insert(tx: Tx) -> None:
            await self.repo.insert_user(doc, tx.session)
            tx.emit(topics.USER_REGISTERED, event, key=doc["username"])

        try:
            await self.service.transaction(insert)
        except DuplicateKeyError as exc:
            raise domain.UserExists() from exc
        return user_body(doc)

    async def login(self, login: str, password: str, address: str) -> tuple[UserBody, str]:
        """Check the password (throttled per account and per address); open a session."""
        now = self.clock()
        user = await self.repo.user_by_login(login)
        keys = [f"user:{user['_id'] if user else login.lower()}", f"addr:{address}"]
        seen = await self.repo.failures_since(keys, now - self.window)
        self.by_account.check(seen[keys[0]], now)
        self.by_address.check(seen[keys[1]], now)
        ok = await self.passwords.verify(user["passwordHash"] if user else None, password)
        if not (user and ok):
            await self.repo.record_failure(keys, now)
            raise domain.BadCredentials()
        if user.get("blocked"):
            raise domain.AccountBlocked()
        await self.repo.clear_failures(keys[0])
        return user_body(user), await self.open_session(user["username"])

    async def open_session(self, username: str) -> str:
        token = domain.new_secret()
        ttl = timedelta(seconds=self.settings.session_ttl_seconds)
        await self.repo.add_session(domain.digest(token), username, self.clock(), ttl)
        return token

    async def end_session(self, token: str | None) -> None:
        if token:
            await self.repo.end_session(domain.digest(token))

    async def who(self, token: str | None) -> Doc:
        """The user of a live session; 401 without one, 403 for a blocked account."""
        found = token and await self.repo.live_session(domain.digest(token), self.clock())
        user = found and await self.repo.user(found["username"])
        if not user:
            raise domain.Unauthorized("User not authorized")
        if user.get("blocked"):
            raise domain.AccountBlocked()
        return user

    async def set_password(self, username: str, password: str, keep_session: str | None) -> None:
        """New password; every session except `keep_session` (a token) ends."""
        hashed = await self.passwords.hash(domain.check_password(password))
        keep = domain.digest(keep_session) if keep_session else None

        async def change(tx: Tx) -> None:
            await self.repo.update_user(username, {"passwordHash": hashed}, tx.session)
            await self.repo.end_sessions(username, keep=keep, session=tx.session)

        await self.service.transaction(change)
