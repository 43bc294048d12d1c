"""What must hold after a chaos or bench run, read from each service's own database, the bank's
ledger, the notification gateways' logs and the broker."""
