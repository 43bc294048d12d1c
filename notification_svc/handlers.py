"""notification's subscribers: they only queue notifications, in the message's transaction;
the sender sends them."""

from __future__ import annotations

import uuid

from notification_svc import domain
from notification_svc.domain import Clock
from notification_svc.repository import Accounts, Notifications
from schemas import topics
from schemas.auth import AccountNotificationRequest, UserRegistered
from servicekit.service import Service
from servicekit.unit import Tx


def register(service: Service, clock: Clock) -> None:
    @service.subscribe(topics.USER_REGISTERED, UserRegistered)
    async def welcome(msg: UserRegistered, tx: Tx) -> None:
        now = clock()
        await Accounts(tx.db).open(domain.account(msg), now, tx.session)
        greeting = domain.greeting(msg, uuid.uuid4(), now)
        await Notifications(tx.db).add(greeting, tx.session)

    @service.subscribe(topics.AUTH_NOTIFICATIONS, AccountNotificationRequest)
    async def queue_account_notification(msg: AccountNotificationRequest, tx: Tx) -> None:
        assert tx.cause is not None  # a consumed message always has its envelope
        notification = domain.account_notification(msg, tx.cause.message_id, clock())
        await Notifications(tx.db).add(notification, tx.session)
