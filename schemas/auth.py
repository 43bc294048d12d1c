"""auth bounded context: the account creation stream (001 §4, auth -> billing, notification)."""

from __future__ import annotations

from pydantic import EmailStr

from schemas.base import NonEmptyStr, WireModel, message


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
