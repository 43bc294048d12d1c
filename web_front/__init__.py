"""web_front: the shop in a browser. Server-rendered pages (aiohttp + Jinja2) that call the
services' edges on the customer's behalf; no database, no Kafka (README.md beside this file)."""
