"""auth bounded context: the account creation stream (001 §4, auth -> billing, notification)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AliasChoices, ConfigDict, EmailStr, Field

from schemas.base import NonEmptyStr, Timestamp, WireModel, message
from schemas.notification import Channel


@message
class UserRegistered(WireModel):
    """001 "account creation" stream: `{username, firstName, lastName, email, phone}`.

    The 001 YAML misspells `fistName`; its JSON examples (and this stream) use `firstName`.
    """

    username: NonEmptyStr
    first_name: NonEmptyStr
    last_name: NonEmptyStr
    email: EmailStr
    phone: NonEmptyStr


class AccountNotificationKind(StrEnum):
    VERIFICATION_CODE = "verification_code"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a notification kind, not a password


@message
class AccountNotificationRequest(WireModel):
    """auth -> notification: deliver a verification code or a password-reset token to the
    user's e-mail or phone. The secret travels only on the internal bus, never in an API."""

    username: NonEmptyStr
    kind: AccountNotificationKind
    channel: Channel
    user_email: EmailStr | None = None
    user_phone: NonEmptyStr | None = None
    secret: NonEmptyStr
    expires_at: Timestamp


# --- HTTP bodies of auth_svc's edge (001 §4 auth, 004 IdentityApi) ---------------------------

FirstName = Field(
    default=None,
    validation_alias=AliasChoices("firstName", "fistName"),  # 001's YAML typo accepted
    serialization_alias="firstName",
)


class RegisterRequest(WireModel):
    """001 `POST /register`; every field optional here so that a missing one gets the seed's
    own error message (`Username, password, email should be provided`), not a generic one."""

    model_config = ConfigDict(extra="ignore")

    username: str | None = None
    first_name: str | None = FirstName
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    password: str | None = None


class LoginRequest(WireModel):
    model_config = ConfigDict(extra="ignore")

    username: str | None = None
    email: str | None = None
    phone: str | None = None
    password: str | None = None


class UserBody(WireModel):
    """The user as 001 answers it; `roles` added for the other edges' authorization."""

    username: str
    first_name: str = Field(serialization_alias="firstName")
    last_name: str
    email: str
    phone: str
    roles: tuple[str, ...] = ()


class ProfileBody(UserBody):
    """004 `GET /users/me`."""

    email_verified: bool = False
    phone_verified: bool = False
    blocked: bool = False


class ProfilePatch(WireModel):
    first_name: NonEmptyStr | None = FirstName
    last_name: NonEmptyStr | None = None


class PasswordChange(WireModel):
    current_password: str
    new_password: str


class ResetRequest(WireModel):
    email: str | None = None
    phone: str | None = None


class ResetConfirm(WireModel):
    reset_token: NonEmptyStr
    new_password: str


class VerifyConfirm(WireModel):
    code: NonEmptyStr


class UserPage(WireModel):
    items: tuple[ProfileBody, ...]
    page: int
    page_size: int
    total: int


# --- the answers of auth_svc's other routes ------------------------------------------------------


class LoggedOut(WireModel):
    """`/logout`: an empty object (001); the `sessionId` cookie is emptied."""


class PasswordChanged(WireModel):
    changed: bool


class PasswordReset(WireModel):
    reset: bool


class CodeSent(WireModel):
    """A reset token or a verification code was sent (when there was someone to send it to);
    a code is good until `expiresAt`."""

    sent: bool
    expires_at: Timestamp | None = None


class Verified(WireModel):
    verified: bool


class UserBlocked(WireModel):
    username: str
    blocked: bool


class UserRoles(WireModel):
    username: str
    roles: tuple[str, ...]
