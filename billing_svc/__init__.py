"""billing_svc: wallet and gift-card balances; opens a wallet for every registered user."""
