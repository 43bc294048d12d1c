"""payment_svc: pays an order by bank card or SBP through the bank adapter, keeps every attempt,
confirms and refunds payments for the saga, and emits payment notifications."""
