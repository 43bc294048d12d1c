from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from delivery_svc.slots import Window
from servicekit.settings import ServiceSettings


class PickupPointConfig(BaseModel):
    id: int = Field(ge=0)
    name: str
    address: str
    working_hours: str


class CourierCompanyConfig(BaseModel):
    """A courier company of the simulator: its tariff in kopecks (see domain.Tariff)."""

    id: str
    name: str
    base_cost: int = Field(ge=0)
    per_char_cost: int = Field(ge=0)


def moscow_points() -> list[PickupPointConfig]:
    rows = [
        (1, "Тверская", "Москва, ул. Тверская, д. 7", "ежедневно 09:00-21:00"),
        (2, "Арбат", "Москва, ул. Арбат, д. 24", "ежедневно 10:00-22:00"),
        (3, "Таганская", "Москва, ул. Таганская, д. 1, стр. 2", "понедельник-суббота 09:00-20:00"),
        (4, "Профсоюзная", "Москва, ул. Профсоюзная, д. 56", "ежедневно 09:00-21:00"),
        (5, "Аэропорт", "Москва, Ленинградский просп., д. 62", "ежедневно 08:00-22:00"),
        (6, "Сокольники", "Москва, ул. Русаковская, д. 31", "понедельник-пятница 10:00-20:00"),
    ]
    return [
        PickupPointConfig(id=i, name=f"Пункт выдачи «{n}»", address=a, working_hours=h)
        for i, n, a, h in rows
    ]


def simulated_companies() -> list[CourierCompanyConfig]:
    rows = [
        ("cdek", "СДЭК", 29_000, 300),
        ("boxberry", "Boxberry", 24_900, 400),
        ("dpd", "DPD", 34_900, 200),
        ("yandex", "Яндекс Доставка", 19_900, 600),
    ]
    return [CourierCompanyConfig(id=i, name=n, base_cost=b, per_char_cost=p) for i, n, b, p in rows]


class DeliverySettings(ServiceSettings):
    service_name: str = "delivery_svc"
    # a pre-reserved slot is kept this long for the order to be paid and confirmed: the payment
    # timeout (600 s) plus 5 minutes, so that order_svc's HoldExtension for an order paid in
    # the last moment still finds the hold alive
    slot_hold_ttl_seconds: float = 900.0
    quote_ttl_seconds: float = 900.0
    sweep_interval_seconds: float = 1.0
    # Moscow wall-clock windows; a hold takes the earliest window with a free place that begins
    # between `slot_lead_seconds` and `slot_horizon_days` from now
    slot_windows: list[str] = Field(
        default_factory=lambda: ["10:00-14:00", "14:00-18:00", "18:00-22:00"]
    )
    slot_horizon_days: float = 7.0
    slot_lead_seconds: float = 2 * 3600.0
    # orders per window per courier company / per pickup point
    courier_slot_capacity: int = Field(default=20, ge=0)
    pickup_slot_capacity: int = Field(default=30, ge=0)
    pickup_points: list[PickupPointConfig] = Field(default_factory=moscow_points)
    # "simulator", "http" (the carriers' API) or "package.module:factory" building a
    # CourierCompanies from these settings
    courier_adapter: str = "simulator"
    courier_companies: list[CourierCompanyConfig] = Field(default_factory=simulated_companies)
    # the carriers' API (delivery_svc.carriers, courier_adapter "http"; carrier_sim stands in)
    carrier_url: str = "http://127.0.0.1:8093"
    carrier_token: str = ""
    carrier_webhook_secret: str = ""
    carrier_timeout_seconds: float = Field(default=3.0, gt=0)
    carrier_attempts: int = Field(default=8, ge=1)
    carrier_retry_seconds: float = Field(default=30.0, gt=0)
    carrier_signature_tolerance_seconds: int = Field(default=300, ge=1)

    # the pickup points' side (delivery_svc.pickup_sim stands in): its API, the token it calls
    # us with (and we call it with), how long a parcel waits at the point for its customer,
    # and how many wrong codes per order before 429 for `pickup_code_lock_seconds`
    pickup_url: str = "http://127.0.0.1:8094"
    pickup_token: str = ""
    pickup_storage_seconds: float = Field(default=3 * 86400.0, gt=0)
    pickup_code_attempts: int = Field(default=5, ge=1)
    pickup_code_lock_seconds: float = Field(default=900.0, gt=0)
    # how often parcels are sent on (to the point, booked with the carrier), and when a courier
    # parcel with no carrier event for `tracking_timeout_seconds` is looked up at the carrier
    dispatch_interval_seconds: float = Field(default=1.0, gt=0)
    tracking_timeout_seconds: float = Field(default=300.0, gt=0)
    # order_svc's service credential for holding slots (`POST /slots`, SAGASHOP_HOLDS_TOKEN,
    # servicekit.holds); empty: nobody may hold one
    holds_token: str = ""

    @field_validator("slot_windows")
    @classmethod
    def _windows_parse(cls, value: list[str]) -> list[str]:
        for text in value:
            Window.parse(text)
        return value

    @property
    def windows(self) -> list[Window]:
        return [Window.parse(text) for text in self.slot_windows]
