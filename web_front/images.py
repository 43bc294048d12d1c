"""A picture for every product, drawn from its name: the catalog's image URLs point nowhere
this machine can reach, and a card without an image is hard to scan."""

from __future__ import annotations

import hashlib
from html import escape

WIDTH, HEIGHT = 400, 300


def hue_of(name: str) -> int:
    """A stable colour per name (the same product always looks the same)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:2], "big") % 360


def initials(name: str) -> str:
    """Up to two letters: the first letters of the first two words ("Чайник Bosch" -> "ЧB")."""
    words = [w for w in name.split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def product_svg(name: str) -> str:
    hue = hue_of(name)
    label = escape(name if len(name) <= 28 else name[:27] + "…")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(name)}">'
        f'<rect width="100%" height="100%" fill="hsl({hue},55%,88%)"/>'
        f'<circle cx="200" cy="130" r="80" fill="hsl({hue},50%,45%)"/>'
        f'<text x="200" y="155" font-family="Liberation Sans,Arial,sans-serif" font-size="64" '
        f'font-weight="bold" fill="#fff" text-anchor="middle">{escape(initials(name))}</text>'
        f'<text x="200" y="270" font-family="Liberation Sans,Arial,sans-serif" font-size="22" '
        f'fill="hsl({hue},40%,25%)" text-anchor="middle">{label}</text></svg>'
    )
