"""notification_svc wiring: `python -m notification_svc` runs it."""

from __future__ import annotations

from notification_svc import handlers, http
from notification_svc.adapters import Channels, configured_channels
from notification_svc.domain import Clock, Status
from notification_svc.repository import Notifications
from notification_svc.sender import Sender
from notification_svc.settings import NotificationSettings
from servicekit import migrations
from servicekit.mongo import utcnow
from servicekit.service import Service


def build(
    settings: NotificationSettings | None = None,
    channels: Channels | None = None,
    clock: Clock = utcnow,
) -> Service:
    settings = settings or NotificationSettings()
    service = Service(settings)
    sender = Sender(
        Notifications(service.db), channels or configured_channels(settings), settings, clock
    )
    handlers.register(service, clock, sender)
    http.register(service, clock, settings.sms_webhook_secret)
    service.step("notification-indexes-v1")(ensure_indexes)
    service.step("notification-status-upper-v1")(status_upper)
    service.loop(sender.run, claims_its_work=True)  # one claim per notification
    return service


async def ensure_indexes(service: Service) -> None:
    await Notifications(service.db).ensure_indexes()


async def status_upper(service: Service) -> None:
    """Notifications stored while their status was lower case (`pending`, `sent`)."""
    old = [s.lower() for s in Status]
    await migrations.upper_case(Notifications(service.db).collection, "status", old)
