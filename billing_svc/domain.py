"""billing's rules: a customer's wallet holds integer kopecks and opens empty."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.base import DEFAULT_CURRENCY
from servicekit.errors import NotFound


class WalletNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("wallet not found")


@dataclass(frozen=True)
class Wallet:
    username: str
    balance: int = 0
    currency: str = DEFAULT_CURRENCY
    version: int = 0

    def __post_init__(self) -> None:
        if not self.username:
            raise ValueError("a wallet belongs to a user: username is empty")
        if self.balance < 0:
            raise ValueError(f"a wallet balance cannot be negative: {self.balance}")


def open_wallet(username: str) -> Wallet:
    return Wallet(username=username)
