"""order_svc: the NEW order is the cart; checkout, payment status, hand-over to orchestra,
final status, history, admin, neighbours' status feed, auto-cancel of unpaid orders."""
