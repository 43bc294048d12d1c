"""What each notification says, from the Jinja2 templates under `notification_svc/templates/`
(one file per kind, in Russian, editable by a person): a `subject`, a plain `text` (the SMS,
and the e-mail's text part) and an `html` block (the e-mail's HTML part, framed by
`_layout.html.j2`). Amounts on the wire are kopecks; the `rub` filter shows rubles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"
SHOP = "sagashop"
MEANS = {
    "CARD": "карта",
    "SAVED_CARD": "сохранённая карта",
    "SBP": "СБП",
    "QR_PAY": "QR-код СБП",
    "WALLET": "кошелёк",
    "GIFT_CARD": "подарочная карта",
}


def rub(kopecks: int) -> str:
    """12345678 -> '123 456,78 ₽' (the Russian way: a space between thousands, a comma)."""
    rubles, kop = divmod(int(kopecks), 100)
    return f"{rubles:,}".replace(",", "\u00a0") + f",{kop:02d}\u00a0₽"


def day(value: str | date) -> str:
    return (date.fromisoformat(value) if isinstance(value, str) else value).strftime("%d.%m.%Y")


def when(value: datetime) -> str:
    return f"{value:%d.%m.%Y %H:%M} UTC"


def means(token_type: str) -> str:
    """The payment means in words, the wire name beside it (what support asks for)."""
    return f"{MEANS.get(token_type, token_type)} ({token_type})"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(rub=rub, day=day, when=when, means=means)
    return env


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_kind(
    kind: str, payload: dict[str, Any], secret: str | None, expires_at: datetime | None
) -> Rendered:
    """The kind's template over this notification. Blocks are rendered in the context the
    whole template set up (its top-level `{% set %}`s), so they share the derived values."""
    env = environment()
    template = env.get_template(f"{kind}.j2")
    context = template.new_context(
        {"p": payload, "secret": secret, "expires_at": expires_at, "shop": SHOP}
    )
    for _ in template.root_render_func(context):
        pass  # runs the top-level sets; the blocks' own output is taken below

    def block(name: str) -> str:
        return "".join(template.blocks[name](context)).strip()

    subject = " ".join(block("subject").split())
    text = jinja2.filters.Markup(block("text")).unescape()
    layout = env.get_template("_layout.html.j2")
    html = layout.render(subject=subject, body=jinja2.filters.Markup(block("html")), shop=SHOP)
    return Rendered(jinja2.filters.Markup(subject).unescape(), text, html)
