"""The one registry of Kafka topics: name, key, producer and consumer groups.

Nothing else in the code base spells a topic name; services refer to the constants here.
A consumer group is named after the service that owns it (one group per service and topic).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# partitions of every topic, fixed when the topics are created: the most consumers of one group
# that share a topic's work (replicas of a service beyond it only serve their edge and stand by).
# Each key (an order id, a username) stays in one partition, so its messages keep their order.
PARTITIONS = int(os.environ.get("SAGASHOP_TOPIC_PARTITIONS") or 4)
if PARTITIONS < 1:
    raise ValueError(f"SAGASHOP_TOPIC_PARTITIONS must be 1 or more, not {PARTITIONS}")
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    producer: str
    consumers: tuple[str, ...]
    doc: str
    partitions: int = PARTITIONS

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX


# fmt: off
# one compact row per topic: name, key, producer, consumers, doc
USER_REGISTERED = Topic(
    "auth.user-registered", "username", "auth_svc", ("billing_svc", "notification_svc"),
    "001 account creation stream: {username, firstName, lastName, email, phone}",
)
AUTH_NOTIFICATIONS = Topic(
    "auth.notification-requests", "username", "auth_svc", ("notification_svc",),
    "verification codes and password-reset tokens to deliver by e-mail or SMS",
)
ORDER_CONFIRMATION_REQUESTS = Topic(
    "order.confirmation-requests", "orderId", "order_svc", ("orchestra",),
    "001 orders requiring confirmation (order -> orchestra)",
)
PAYMENT_CONFIRMATIONS = Topic(
    "orchestra.payment-requests", "orderId", "orchestra,order_svc", ("payment_svc",),
    "001 CONFIRM/REVERSE for the PAYMENT confirmator (order_svc: REVERSE on a cancel)",
)
STORE_CONFIRMATIONS = Topic(
    "orchestra.store-requests", "orderId", "orchestra,order_svc", ("store_svc",),
    "001 CONFIRM/REVERSE for the STORE confirmator (order_svc: REVERSE on a cancel)",
)
DELIVERY_CONFIRMATIONS = Topic(
    "orchestra.delivery-requests", "orderId", "orchestra,order_svc", ("delivery_svc",),
    "001 CONFIRM/REVERSE for the DELIVERY confirmator (order_svc: REVERSE on a cancel)",
)
CONFIRMATION_REPLIES = Topic(
    "orchestra.confirmation-replies", "orderId", "payment_svc,store_svc,delivery_svc",
    ("orchestra",),
    "001 participant replies {orderId, requestType, confirmator, response}",
)
ORDER_OUTCOMES = Topic(
    "orchestra.order-outcomes", "orderId", "orchestra", ("order_svc",),
    "001 saga outcome for order: {orderId, version, response}",
)
SAGA_NOTIFICATIONS = Topic(
    "orchestra.saga-notifications", "orderId", "orchestra", ("notification_svc",),
    "001 saga outcome for notification: {orderId, username, response, timestamp}",
)
PAYMENT_EVENTS = Topic(
    "payment.order-payments", "orderId", "payment_svc", ("order_svc",),
    "payment succeeded / failed for an order (moves it to PAID)",
)
PAYMENT_NOTIFICATIONS = Topic(
    "payment.notifications", "orderId", "payment_svc", ("notification_svc",),
    "001 payment CHARGE/REVERSE results",
)
DELIVERY_NOTIFICATIONS = Topic(
    "delivery.notifications", "orderId", "delivery_svc", ("notification_svc",),
    "001 delivery notices (pickup point or home delivery)",
)
GIFT_CARD_DELIVERIES = Topic(
    "billing.gift-card-deliveries", "giftCardNumber", "billing_svc", ("notification_svc",),
    "001 gift card data for the donee",
)
BILLING_REQUESTS = Topic(
    "payment.billing-requests", "accountId", "payment_svc", ("billing_svc",),
    "debit a wallet or gift card for a payment, credit one for a top-up or a refund",
)
BILLING_REPLIES = Topic(
    "billing.replies", "paymentId", "billing_svc", ("payment_svc",),
    "a billing request applied (SUCCESS + balance) or refused (FAIL + reason)",
)
GIFT_CARD_ISSUES = Topic(
    "order.gift-card-issues", "orderId", "order_svc", ("billing_svc",),
    "a gift-card order was paid: issue its card",
)
GIFT_CARDS_ISSUED = Topic(
    "billing.gift-cards-issued", "orderId", "billing_svc", ("order_svc",),
    "the card of a paid gift-card order was issued (the order is COMPLETED)",
)
ORDER_NOTIFICATIONS = Topic(
    "order.notifications", "orderNum", "order_svc", ("notification_svc",),
    "003 order notification by sms/email (requires_payment, success_payment, completed)",
)
PRODUCT_FEED = Topic(
    "catalog.product-feed", "id", "neighbour: product accounting", ("store_svc",),
    "003 product created/updated {id, name, measurments, description, cost, tax, version}",
)
STOCK_FEED = Topic(
    "warehouse.stock-feed", "productId", "neighbour: warehouse", ("store_svc",),
    "stock level per product and warehouse from the warehouse side",
)
ORDER_STATUS_FEED = Topic(
    "delivery.order-status-feed", "orderId", "store_svc,delivery_svc,neighbours", ("order_svc",),
    "003 order status updates from neighbour services",
)
ORDER_CANCELLATIONS = Topic(
    "order.cancellations", "orderId", "order_svc", ("orchestra",),
    "cancellations and returns of handed-over orders: orchestra compensates (issue 13)",
)
HOLD_EXTENSIONS = Topic(
    "order.hold-extensions", "orderId", "order_svc", ("store_svc", "delivery_svc"),
    "a paid order's stock and slot holds are kept until {until}",
)
PARCELS = Topic(
    "store.parcels-handed-over", "orderId", "store_svc", ("delivery_svc",),
    "picking handed the order's parcel over: delivery starts",
)
REPORT_READY = Topic(
    "order.reports-ready", "reportId", "order_svc", (),
    "003 report ready {reportId, result, detail}",
)
# fmt: on

ALL: tuple[Topic, ...] = (
    USER_REGISTERED,
    AUTH_NOTIFICATIONS,
    ORDER_CONFIRMATION_REQUESTS,
    PAYMENT_CONFIRMATIONS,
    STORE_CONFIRMATIONS,
    DELIVERY_CONFIRMATIONS,
    CONFIRMATION_REPLIES,
    ORDER_OUTCOMES,
    SAGA_NOTIFICATIONS,
    PAYMENT_EVENTS,
    PAYMENT_NOTIFICATIONS,
    DELIVERY_NOTIFICATIONS,
    GIFT_CARD_DELIVERIES,
    BILLING_REQUESTS,
    BILLING_REPLIES,
    GIFT_CARD_ISSUES,
    GIFT_CARDS_ISSUED,
    ORDER_NOTIFICATIONS,
    PRODUCT_FEED,
    STOCK_FEED,
    ORDER_STATUS_FEED,
    ORDER_CANCELLATIONS,
    HOLD_EXTENSIONS,
    PARCELS,
    REPORT_READY,
)


def all_topic_names() -> list[str]:
    """Every topic to create at start-up: each registry topic and its dead-letter twin."""
    return [name for t in ALL for name in (t.name, t.dlq)]


def by_name(name: str) -> Topic:
    for topic in ALL:
        if topic.name == name:
            return topic
    raise KeyError(name)


def consumer_group(service: str) -> str:
    """A service reads all its topics in one consumer group named after it: one group join
    at start-up (the broker delays each join ~3 s), one member to take over after a crash."""
    return service


def inbox_namespace(service: str, topic: Topic) -> str:
    """Whose `message_id`s the inbox keeps apart: a service's consumer of one topic."""
    return f"{service}.{topic.name}"
