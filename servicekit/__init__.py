"""What every service runs on and nothing domain-specific: settings, logging, Mongo client and
transactions, broker factory, outbox + relay, inbox (dedupe), retry policies, the aiohttp edge
base and the service runner."""
