from __future__ import annotations

from pydantic import Field

from servicekit.settings import ServiceSettings
from store_svc.domain import WAREHOUSES


class StoreSettings(ServiceSettings):
    service_name: str = "store_svc"
    http_port: int = 8084
    # a pre-reservation lives this long unless the saga books it (000: 10 minutes)
    reservation_ttl_seconds: float = Field(default=600.0, gt=0)
    # how often the sweeper looks for expired pre-reservations, and how many per batch
    reservation_sweep_seconds: float = Field(default=5.0, gt=0)
    reservation_sweep_batch: int = Field(default=100, ge=1)
    # product images are served elsewhere (a CDN): `<base>/<productId>.jpg`
    image_base_url: str = "https://images.sagashop.example/products"
    # the shop's warehouses (SAGASHOP_WAREHOUSES='["msk-1", ...]'); the warehouse system's
    # stock feed may report more, and those are known from then on
    warehouses: tuple[str, ...] = WAREHOUSES
