"""Forms as GOV.UK shows them: what the person typed survives an error, and each error is
shown twice — in a summary at the top linking to the field, and beside the field itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp import web

# an edge's English errorMessage -> the field it is about and what the person reads
KNOWN_ERRORS: tuple[tuple[str, str, str], ...] = (
    ("already", "username", "Такой пользователь уже зарегистрирован: выберите другое имя"),
    ("invalid username", "username", "Имя пользователя: от 3 до 64 букв, цифр или . _ @ + -"),
    ("invalid email", "email", "Введите e-mail в виде name@example.ru"),
    ("invalid phone", "phone", "Введите телефон: от 10 до 15 цифр, например +79991234567"),
    ("password must be", "password", "Пароль должен быть длиной от 8 до 128 символов"),
    ("password must mix", "password", "Пароль должен содержать не только буквы"),
    ("firstname", "firstName", "Введите имя"),
    ("lastname", "lastName", "Введите фамилию"),
    ("invalid login/password", "", "Неверное имя пользователя или пароль"),
    ("not authorized", "", "Неверное имя пользователя или пароль"),
    ("blocked", "", "Учётная запись заблокирована"),
    ("too many", "", "Слишком много попыток. Подождите немного и попробуйте снова"),
)


@dataclass
class Form:
    """The typed values and the errors by field name ("" = about the whole form)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def require(self, names: Iterable[str], messages: dict[str, str]) -> None:
        for name in names:
            if not self.values.get(name, "").strip():
                self.errors.setdefault(name, messages.get(name, "Заполните это поле"))

    def edge_error(self, message: str) -> None:
        """Place an edge's errorMessage beside the field it is about, in Russian."""
        lowered = message.lower()
        for needle, name, text in KNOWN_ERRORS:
            if needle in lowered:
                self.errors.setdefault(name, text)
                return
        self.errors.setdefault("", message)


async def read_form(request: web.Request, names: Iterable[str]) -> Form:
    posted = await request.post()
    return Form(values={name: str(posted.get(name, "")).strip() for name in names})
