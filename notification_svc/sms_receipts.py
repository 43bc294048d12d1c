"""The SMS gateway's delivery receipts: what one says, and the signature that shows it came
from the gateway (HMAC-SHA256 of the body with the shared secret, hex, in `X-Signature`)."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

from schemas.base import WireModel

SIGNATURE_HEADER = "X-Signature"


class DeliveryState(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"


class SmsReceipt(WireModel):
    """`POST /notifications/sms/receipts` (from the gateway): how one SMS ended."""

    message_id: str
    client_message_id: str
    status: DeliveryState
    error: str | None = None


class ReceiptRecorded(WireModel):
    """notification_svc's answer to a receipt it recorded: the state it recorded."""

    recorded: DeliveryState


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_by(secret: str, body: bytes, signature: str) -> bool:
    return bool(secret) and hmac.compare_digest(sign(secret, body), signature)
