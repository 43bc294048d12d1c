"""Account operations shared by the edge and the CLI: register, log in, sessions, roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from auth_svc import domain
from auth_svc.adapters import Passwords
from auth_svc.domain import Throttle
from auth_svc.limits import Limits
from auth_svc.repository import Repository
from auth_svc.settings import AuthSettings
from schemas import topics
from schemas.auth import RegisterRequest, UserBody, UserRegistered
from servicekit.errors import InvalidRequest
from servicekit.mongo import Doc, utcnow
from servicekit.service import Service
from servicekit.unit import Tx

Clock = Callable[[], datetime]
# a session's last use is written at most this often (not on every request)
IDLE_TOUCH = timedelta(minutes=1)
SEND_REFUSED = "Too many requests for this address or recipient; try again later"


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
        self.limits = Limits(service.db)
        self.passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
        self.clock = clock
        self.idle = timedelta(seconds=settings.session_idle_seconds)
        self.login_quiet = timedelta(seconds=settings.login_window_seconds)
        self.send_quiet = timedelta(seconds=settings.send_window_seconds)
        self.by_pair, self.by_address, self.per_target, self.per_address = throttles(settings)

    async def ensure_indexes(self) -> None:
        await self.repo.ensure_indexes()
        await self.limits.ensure_indexes()

    async def register(
        self,
        req: RegisterRequest,
        roles: tuple[str, ...] = (domain.CUSTOMER,),
        username: str | None = None,
    ) -> UserBody:
        """A new customer. A taken username is 409; a taken e-mail or phone answers like a
        success and creates nothing, so registration cannot tell whose contacts are known."""
        doc = await self.new_user(req, roles, username)
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
            contact_login = username is not None  # /register/email, /register/phone
            if not contact_login and await self.repo.user(doc["_id"]) is not None:
                raise domain.UserExists() from exc
        return user_body(doc)

    async def new_user(
        self, req: RegisterRequest, roles: tuple[str, ...], login: str | None
    ) -> Doc:
        username = login or req.username
        if not (username and req.password and req.email):
            raise InvalidRequest("Username, password, email should be provided")
        if not req.phone:
            raise InvalidRequest("Phone should be provided")
        if login is None and domain.looks_like_contact(username):
            raise InvalidRequest("invalid username: it must not look like an e-mail or a phone")
        return {
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

    async def login(self, login: str, password: str, address: str) -> tuple[UserBody, str]:
        """Check the password, throttled per client address and per (account, address): the
        attempt is counted before argon2 runs. Open a session."""
        now = self.clock()
        user = await self.repo.user_by_login(login)
        pair = f"login:{user['_id'] if user else login.strip().lower()}|{address}"
        from_address = f"login-from:{address}"
        await self.limits.take(from_address, self.by_address, now, self.login_quiet)
        await self.limits.take(pair, self.by_pair, now, self.login_quiet)
        ok = await self.passwords.verify(user["passwordHash"] if user else None, password)
        if not (user and ok):
            raise domain.BadCredentials()
        if user.get("blocked"):
            raise domain.AccountBlocked()
        await self.limits.clear(pair)
        await self.limits.give_back(from_address)
        await self.rehash_if_weak(user, password)
        return user_body(user), await self.open_session(user["_id"])

    async def rehash_if_weak(self, user: Doc, password: str) -> None:
        """A hash older than today's argon2 cost is replaced while the password is at hand
        (only if it is still the same hash: a parallel password change wins)."""
        if not self.passwords.weaker_than_current(user["passwordHash"]):
            return
        stronger = await self.passwords.hash(password)
        await self.repo.users.update_one(
            {"_id": user["_id"], "passwordHash": user["passwordHash"]},
            {"$set": {"passwordHash": stronger}},
        )

    async def check_send(self, address: str, *targets: str) -> None:
        """Count a message or hash done on request (a reset, a code, a registration) against
        each of its targets and, once, the caller's address; 429 past the free ones."""
        now = self.clock()
        if not (self.settings.send_unlimited_loopback and domain.is_loopback(address)):
            await self.limits.take(f"send-from:{address}", self.per_address, now, self.send_quiet)
        for target in targets:
            await self.limits.take(f"send-to:{target}", self.per_target, now, self.send_quiet)

    async def open_session(self, username: str) -> str:
        token = domain.new_secret()
        ttl = timedelta(seconds=self.settings.session_ttl_seconds)
        await self.repo.add_session(domain.digest(token), username, self.clock(), ttl)
        return token

    async def end_session(self, token: str | None) -> None:
        if token:
            await self.repo.end_session(domain.digest(token))

    async def who(self, token: str | None) -> Doc:
        """The user of a live session (unused for less than the idle timeout; this use moves
        it on); 401 without one, 403 for a blocked account."""
        now = self.clock()
        found = token and await self.repo.live_session(domain.digest(token), now, self.idle)
        user = found and await self.repo.user(found["username"])
        if not user:
            raise domain.Unauthorized("User not authorized")
        if user.get("blocked"):
            raise domain.AccountBlocked()
        if found and now - found["lastSeenAt"] > IDLE_TOUCH:
            await self.repo.touch_session(found["_id"], now)
        return user

    async def set_password(self, username: str, password: str, keep_session: str | None) -> None:
        """New password; every session except `keep_session` (a token) ends, and every
        outstanding reset token stops working."""
        hashed = await self.passwords.hash(domain.check_password(password))
        keep = domain.digest(keep_session) if keep_session else None
        now = self.clock()

        async def change(tx: Tx) -> None:
            await self.repo.update_user(username, {"passwordHash": hashed}, tx.session)
            await self.repo.end_sessions(username, keep=keep, session=tx.session)
            await self.repo.void_resets(username, now, tx.session)

        await self.service.transaction(change)


def throttles(settings: AuthSettings) -> tuple[Throttle, Throttle, Throttle, Throttle]:
    """(account, address) and address throttles of login; target and address ones of sends."""
    login_delay = timedelta(seconds=settings.login_delay_seconds)
    login_max = timedelta(seconds=settings.login_window_seconds)
    send_delay = timedelta(seconds=settings.send_delay_seconds)
    send_max = timedelta(seconds=settings.send_window_seconds)
    login_msg, send_msg = "Too many failed login attempts; try again later", SEND_REFUSED
    return (
        Throttle(login_msg, settings.login_limit_account, login_delay, login_max),
        Throttle(login_msg, settings.login_limit_address, login_delay, login_max),
        Throttle(send_msg, settings.send_limit_target, send_delay, send_max),
        Throttle(send_msg, settings.send_limit_address, send_delay, send_max),
    )
