"""Customers and staff driving the shop through its HTTP edges, for e2e tests, chaos and bench."""
