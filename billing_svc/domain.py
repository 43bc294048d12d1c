"""billing's ledger rules: who may move money on which account, and what a balance becomes.

Pure: the handlers read an account, ask `decide` what a request does to it, and write that
back conditionally. A refusal is an outcome (a FAIL reply), never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.base import DEFAULT_CURRENCY
from schemas.billing import AccountKind, BillingRequest, LedgerOp
from servicekit.errors import Conflict, NotFound

WALLET_SHORT = "not enough money in the wallet"
CARD_SHORT = "not enough money on the gift card"
WALLET_UNKNOWN = "wallet not found"
CARD_UNKNOWN = "gift card not found"


class WalletNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(WALLET_UNKNOWN)


class GiftCardNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(CARD_UNKNOWN)


class GiftCardAlreadyActive(Conflict):
    def __init__(self) -> None:
        super().__init__("gift card is already activated")


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


@dataclass(frozen=True)
class Account:
    """A balance the ledger moves: a wallet (owned by its user from the start) or a gift card
    (owned by nobody until activated, usable only while ACTIVE)."""

    kind: AccountKind
    id: str
    balance: int
    currency: str
    owner: str | None
    active: bool
    version: int


@dataclass(frozen=True)
class Outcome:
    """What a request does: applied (`balance` is the balance after it) or refused with a
    reason (`balance` is the current one when the requester may see it, else None)."""

    reason: str | None
    balance: int | None

    @property
    def applied(self) -> bool:
        return self.reason is None


def refused(reason: str, balance: int | None = None) -> Outcome:
    return Outcome(reason, balance)


def decide(request: BillingRequest, account: Account | None) -> Outcome:
    """The outcome of `request` on `account` (None: no such account yet)."""
    kind = request.account_kind
    unknown = WALLET_UNKNOWN if kind is AccountKind.WALLET else CARD_UNKNOWN
    if kind is AccountKind.WALLET and request.account_id != request.username:
        return refused(unknown)
    if account is None:
        if kind is AccountKind.WALLET and request.op is LedgerOp.CREDIT:
            # a top-up may arrive before the registration event that opens the wallet
            account = new_wallet_account(request.username)
        else:
            return refused(unknown)
    if not account.active or account.owner != request.username:
        return refused(unknown)  # never tell a requester about someone else's card
    if request.currency != account.currency:
        return refused(f"the account holds {account.currency}, not {request.currency}")
    if request.op is LedgerOp.CREDIT:
        return Outcome(None, account.balance + request.amount)
    if account.balance < request.amount:
        short = WALLET_SHORT if kind is AccountKind.WALLET else CARD_SHORT
        return refused(short, account.balance)
    return Outcome(None, account.balance - request.amount)


def new_wallet_account(username: str) -> Account:
    wallet = open_wallet(username)
    return Account(AccountKind.WALLET, username, 0, wallet.currency, username, True, wallet.version)


def signed(request: BillingRequest) -> int:
    """The entry's amount: + for a credit, - for a debit."""
    return request.amount if request.op is LedgerOp.CREDIT else -request.amount
