"""notification's subscribers: they only queue notifications, in the message's transaction;
the sender sends them. A notification's id is made from its cause (notification_svc.orders),
so queuing one again changes nothing: those handlers are `inbox.keyed` (no inbox claim). The
welcome greeting is not (a fresh id each time), so its consumer keeps the claim."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from pymongo.asynchronous.client_session import AsyncClientSession

from notification_svc import domain, orders
from notification_svc.domain import Clock
from notification_svc.repository import Accounts, Notifications
from notification_svc.sender import Sender
from schemas import topics
from schemas.auth import AccountNotificationRequest, UserRegistered
from schemas.billing import GiftCardDelivery
from schemas.delivery import DeliveryNotification
from schemas.notification import Channel, OrderNotification
from schemas.payment import PaymentNotification
from schemas.saga import SagaNotification
from servicekit import inbox
from servicekit.service import Service
from servicekit.unit import Tx

EMAIL, SMS = Channel.EMAIL.value, Channel.SMS.value


def register(service: Service, clock: Clock, sender: Sender | None = None) -> None:
    async def add(tx: Tx, n: domain.Notification) -> None:
        """Queue `n`; one to send is claimed by the sender and handed to it once committed."""
        if sender is None or n.status is not domain.Status.PENDING or n.due_at is None:
            await Notifications(tx.db).add(n, tx.session)
        elif await Notifications(tx.db).add(n, tx.session, sender.claim_fields(clock())):
            tx.on_commit(lambda: sender.take(n))

    @service.subscribe(topics.USER_REGISTERED, UserRegistered)
    async def welcome(msg: UserRegistered, tx: Tx) -> None:
        now = clock()
        await Accounts(tx.db).open(domain.account(msg), now, tx.session)
        await add(tx, domain.greeting(msg, uuid.uuid4(), now))

    @service.subscribe(topics.AUTH_NOTIFICATIONS, AccountNotificationRequest)
    @inbox.keyed
    async def queue_account_notification(msg: AccountNotificationRequest, tx: Tx) -> None:
        assert tx.cause is not None  # noqa: S101 - a consumed message always has its envelope
        await add(tx, domain.account_notification(msg, tx.cause.message_id, clock()))

    async def load(
        messages: Sequence[SagaNotification | PaymentNotification | DeliveryNotification],
        session: AsyncClientSession,
    ) -> None:
        await Accounts(service.db).preload([m.username for m in messages], session)

    async def queue(
        tx: Tx, username: str, notice: Callable[[dict[str, str]], domain.Notification]
    ) -> None:
        """Queue what `notice(the user's addresses)` makes, or keep it as skipped when the
        customer turned its channel off (one read of the account for both)."""
        addresses, chosen = await Accounts(tx.db).addresses(username, tx.session)
        await add(tx, notice(addresses).respecting(chosen))

    @service.subscribe(topics.SAGA_NOTIFICATIONS, SagaNotification, load)
    @inbox.keyed
    async def saga_outcome(msg: SagaNotification, tx: Tx) -> None:
        await queue(tx, msg.username, lambda a: orders.outcome(msg, a.get(EMAIL), clock()))

    @service.subscribe(topics.PAYMENT_NOTIFICATIONS, PaymentNotification, load)
    @inbox.keyed
    async def payment_result(msg: PaymentNotification, tx: Tx) -> None:
        assert tx.cause is not None  # noqa: S101 - type narrowing, not a guard
        cause = tx.cause.message_id
        await queue(tx, msg.username, lambda a: orders.payment(msg, cause, a.get(EMAIL), clock()))

    @service.subscribe(topics.ORDER_NOTIFICATIONS, OrderNotification)
    @inbox.keyed
    async def order_status(msg: OrderNotification, tx: Tx) -> None:
        n = orders.order_status(msg, clock())
        await queue(tx, n.username, lambda _: n)

    @service.subscribe(topics.DELIVERY_NOTIFICATIONS, DeliveryNotification, load)
    @inbox.keyed
    async def delivery(msg: DeliveryNotification, tx: Tx) -> None:
        assert tx.cause is not None  # noqa: S101 - type narrowing, not a guard
        cause = tx.cause.message_id
        await queue(tx, msg.username, lambda a: orders.delivery(msg, cause, a.get(SMS), clock()))

    @service.subscribe(topics.GIFT_CARD_DELIVERIES, GiftCardDelivery)
    @inbox.keyed
    async def gift_card(msg: GiftCardDelivery, tx: Tx) -> None:
        n = orders.gift_card(msg, clock())
        await queue(tx, n.username, lambda _: n)
