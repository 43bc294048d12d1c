"""Money as a person reads it: integer kopecks shown as rubles, "1 234,50 ₽"."""

from __future__ import annotations

NBSP = "\u00a0"  # a thousands gap and the ruble sign never wrap onto the next line


def rubles(kopecks: int | None) -> str:
    """`123450` -> "1 234,50 ₽"; whole rubles keep their ",00" so prices line up."""
    if kopecks is None:
        return ""
    sign = "−" if kopecks < 0 else ""
    whole, part = divmod(abs(int(kopecks)), 100)
    grouped = f"{whole:,}".replace(",", NBSP)
    return f"{sign}{grouped},{part:02d}{NBSP}₽"


def kopecks_from_text(text: str) -> int | None:
    """What a person types as an amount ("1 234,5", "1234.50", "500") in kopecks; None when
    it is not an amount with at most two decimals."""
    cleaned = text.strip().replace(NBSP, "").replace(" ", "").replace("₽", "").replace(",", ".")
    whole, _, part = cleaned.partition(".")
    if not whole.isdigit() or (part and not part.isdigit()) or len(part) > 2:
        return None
    return int(whole) * 100 + int(part.ljust(2, "0") or 0)
