"""billing's wallet rules."""

from __future__ import annotations

import pytest

from billing_svc.domain import Wallet, WalletNotFound, open_wallet


def test_a_new_wallet_is_empty_in_roubles_at_version_zero() -> None:
    wallet = open_wallet("ivan")
    assert (wallet.username, wallet.balance, wallet.currency, wallet.version) == (
        "ivan",
        0,
        "RUB",
        0,
    )


def test_a_wallet_cannot_hold_a_negative_balance() -> None:
    with pytest.raises(ValueError, match="negative"):
        Wallet(username="ivan", balance=-1)


def test_a_wallet_belongs_to_someone() -> None:
    with pytest.raises(ValueError, match="username"):
        open_wallet("")


def test_a_missing_wallet_is_a_404_with_the_edge_message() -> None:
    error = WalletNotFound()
    assert (error.status, error.message) == (404, "wallet not found")
