from __future__ import annotations

from pydantic import Field

from servicekit.settings import ServiceSettings
from store_svc.domain import WAREHOUSES


class StoreSettings(ServiceSettings):
    service_name: str = "store_svc"
    http_port: int = 8084
    # a pre-reservation lives this long unless the saga books it. 000 says 10 minutes, the
    # order's payment timeout; a paid order's hold is extended (HoldExtension) when it is paid,
    # so the default outlives the payment timeout by 5 minutes: a payment made at its last
    # second still finds its goods held while the extension travels to the store
    reservation_ttl_seconds: float = Field(default=900.0, gt=0)
    # how often the sweeper looks for expired pre-reservations, and how many per batch
    reservation_sweep_seconds: float = Field(default=5.0, gt=0)
    reservation_sweep_batch: int = Field(default=100, ge=1)
    # product images are served elsewhere (a CDN): `<base>/<productId>.jpg`
    image_base_url: str = "https://images.sagashop.example/products"
    # the shop's warehouses (SAGASHOP_WAREHOUSES='["msk-1", ...]'); the warehouse system's
    # stock feed may report more, and those are known from then on
    warehouses: tuple[str, ...] = WAREHOUSES
    # the warehouse staff's service credential (`Authorization: Bearer <token>` on the picking
    # routes, SAGASHOP_WAREHOUSE_TOKEN); empty: only admins may move picking cases
    warehouse_token: str = ""
    # order_svc's service credential for creating pre-reservations (`POST /reservations`,
    # SAGASHOP_HOLDS_TOKEN, servicekit.holds); empty: nobody may create one
    holds_token: str = ""
