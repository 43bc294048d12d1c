"""Topic -> message model: every topic in `schemas.topics.ALL` carries exactly one model.

A consumer validates a message body with `model_for(topic_name).from_bytes(body)`; the envelope's
`type` header (`Model.type_name()`) resolves through `schemas.base.message_model`.
"""

from __future__ import annotations

from schemas import topics
from schemas.auth import AccountNotificationRequest, UserRegistered
from schemas.base import WireModel
from schemas.billing import (
    BillingReply,
    BillingRequest,
    GiftCardDelivery,
    GiftCardIssued,
    GiftCardIssueRequest,
)
from schemas.catalog import ProductFeedMessage, StockLevel
from schemas.delivery import DeliveryNotification
from schemas.fulfilment import HoldExtension, OrderCancellation, ParcelHandedOver
from schemas.notification import OrderNotification
from schemas.order import OrderStatusUpdate, ReportReady
from schemas.payment import OrderPaymentEvent, PaymentNotification
from schemas.saga import (
    ConfirmationReply,
    ConfirmationRequest,
    OrderConfirmationRequest,
    OrderOutcome,
    SagaNotification,
)

TOPIC_MODELS: dict[str, type[WireModel]] = {
    topics.USER_REGISTERED.name: UserRegistered,
    topics.AUTH_NOTIFICATIONS.name: AccountNotificationRequest,
    topics.ORDER_CONFIRMATION_REQUESTS.name: OrderConfirmationRequest,
    topics.PAYMENT_CONFIRMATIONS.name: ConfirmationRequest,
    topics.STORE_CONFIRMATIONS.name: ConfirmationRequest,
    topics.DELIVERY_CONFIRMATIONS.name: ConfirmationRequest,
    topics.CONFIRMATION_REPLIES.name: ConfirmationReply,
    topics.ORDER_OUTCOMES.name: OrderOutcome,
    topics.SAGA_NOTIFICATIONS.name: SagaNotification,
    topics.PAYMENT_EVENTS.name: OrderPaymentEvent,
    topics.PAYMENT_NOTIFICATIONS.name: PaymentNotification,
    topics.DELIVERY_NOTIFICATIONS.name: DeliveryNotification,
    topics.GIFT_CARD_DELIVERIES.name: GiftCardDelivery,
    topics.BILLING_REQUESTS.name: BillingRequest,
    topics.BILLING_REPLIES.name: BillingReply,
    topics.GIFT_CARD_ISSUES.name: GiftCardIssueRequest,
    topics.GIFT_CARDS_ISSUED.name: GiftCardIssued,
    topics.ORDER_NOTIFICATIONS.name: OrderNotification,
    topics.PRODUCT_FEED.name: ProductFeedMessage,
    topics.STOCK_FEED.name: StockLevel,
    topics.ORDER_STATUS_FEED.name: OrderStatusUpdate,
    topics.ORDER_CANCELLATIONS.name: OrderCancellation,
    topics.HOLD_EXTENSIONS.name: HoldExtension,
    topics.PARCELS.name: ParcelHandedOver,
    topics.REPORT_READY.name: ReportReady,
}


def model_for(topic_name: str) -> type[WireModel]:
    """The model of the messages on `topic_name` (its dead-letter twin included)."""
    if topic_name.endswith(topics.DLQ_SUFFIX):
        topic_name = topic_name.removesuffix(topics.DLQ_SUFFIX)
    return TOPIC_MODELS[topic_name]
