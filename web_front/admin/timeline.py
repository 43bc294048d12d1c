"""The saga of one order as a person reads it: each participant's step (request, reply,
timings) and a vertical timeline of everything that happened, in Russian and in Moscow time (as
every other page). Pure: the saga body of orchestra's `GET /sagas/{orderId}` and the order in,
plain dictionaries for the template out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from web_front.lifecycle import reason_words
from web_front.pages.orders import MOSCOW

PARTICIPANTS = {"PAYMENT": "Оплата", "STORE": "Склад", "DELIVERY": "Доставка"}
SAGA_STATES = {
    "CONFIRMING": "Ждём подтверждения участников",
    "CONFIRMED": "Подтверждена",
    "COMPENSATING": "Идёт компенсация",
    "CANCELLED": "Отменена (компенсирована)",
}
STEP_STATES = {
    "PENDING": "ждём ответа",
    "SUCCESS": "подтверждено",
    "FAIL": "отказ",
    "REVERSED": "отменено (компенсация)",
}
REPLIES = {
    "CONFIRM SUCCESS": "подтверждено",
    "CONFIRM FAIL": "отказ",
    "REVERSE SUCCESS": "действие отменено (компенсация)",
    "REVERSE FAIL": "отменить не удалось — запрос повторится",
}
EVENTS = {
    "started": "Сага начата: запросы на подтверждение отправлены оплате, складу и доставке",
    "confirmed": "Все участники подтвердили: заказ подтверждён",
    "compensating": "Началась компенсация: всем участникам отправлена отмена",
    "reverse resent": "Не все участники ответили на отмену вовремя: отмена отправлена снова",
    "cancelled": "Компенсация завершена",
    "cancellation asked": "Заказ попросили отменить",
}
# what "cancellation asked" was, from the order's own record of it (orchestra compensates a
# cancellation and an accepted return alike)
ASKED = {"CANCEL": "Заказ попросили отменить", "RETURN": "Принят возврат заказа"}
# how the undoing ended, from the order itself (a saga compensates a cancellation and a
# return alike)
ENDINGS = {"CANCELLED": "заказ отменён", "RETURNED": "заказ возвращён"}
RETURNED_GOODS = {"RESTOCK": "товар возвращён на склад", "WRITE_OFF": "товар списан"}
REQUESTS = {"CONFIRM": "подтвердить", "REVERSE": "отменить (компенсация)"}


@dataclass
class Step:
    """One participant: when it was asked, what it answered and how long it took."""

    name: str
    state: str
    asked_at: datetime | None = None
    replies: list[dict[str, Any]] = field(default_factory=list)


def when(raw: Any) -> datetime | None:
    """An edge's timestamp in Moscow time (a naive one is taken as UTC, as the edges mean it)."""
    if isinstance(raw, datetime):
        at = raw
    else:
        try:
            at = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(MOSCOW)


def seconds_between(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    return f"{(end - start).total_seconds():.2f}".replace(".", ",") + " с"


def reason_in_russian(reason: str | None) -> str:
    """The saga's reason (English on the wire) as the pages say it: "Нет ответа вовремя:
    доставка"; an admin's or customer's own words as typed."""
    words = reason_words(reason)
    return words[:1].upper() + words[1:]


def ending(order: dict[str, Any]) -> str:
    """What compensating the saga did to the order, as its status and disposition say:
    "Компенсация завершена: заказ возвращён, товар списан"."""
    status = str(order.get("status", ""))
    if status not in ENDINGS:  # the order has not taken the outcome in yet
        return EVENTS["cancelled"]
    text = f"{EVENTS['cancelled']}: {ENDINGS[status]}"
    goods = RETURNED_GOODS.get(str((order.get("cancellation") or {}).get("disposition")))
    return f"{text}, {goods}" if status == "RETURNED" and goods else text


def entry_text(entry: dict[str, Any], order: dict[str, Any]) -> str:
    event = str(entry.get("event", ""))
    if event == "cancelled":
        return ending(order)
    who = PARTICIPANTS.get(str(entry.get("participant", "")), "")
    if event in REPLIES and who:
        text = f"{who}: {REPLIES[event]}"
        return f"{text}: {reason_words(entry['reason'])}" if entry.get("reason") else text
    if event == "compensating" and entry.get("reason"):
        return f"{EVENTS[event]}. Причина: {reason_in_russian(entry['reason'])}"
    if event == "cancellation asked":
        kind = str((order.get("cancellation") or {}).get("kind", "CANCEL"))
        why = reason_words(entry.get("reason")) or "—"
        return f"{ASKED.get(kind, EVENTS[event])}: {entry.get('by', '—')}, причина: {why}"
    return EVENTS.get(event, event)


def replay(
    saga: dict[str, Any], order: dict[str, Any], started: datetime | None
) -> tuple[list[Step], list[dict[str, Any]]]:
    """Walk the saga's history once: each participant's replies (with how long each took
    since its request went out) and the timeline entries."""
    steps = {
        p: Step(name, STEP_STATES.get(str(saga["steps"].get(p, "")), "—"), started)
        for p, name in PARTICIPANTS.items()
    }
    entries = []
    reverse_sent: datetime | None = None  # REVERSE goes out when compensation starts
    for entry in saga.get("history", []):
        at, event = when(entry.get("at")), str(entry.get("event", ""))
        if event in ("compensating", "reverse resent"):
            reverse_sent = at
        bad = "FAIL" in event or event in ("compensating", "cancelled")
        entries.append(
            {
                "at": at,
                "after": seconds_between(started, at),
                "text": entry_text(entry, order),
                "bad": bad,
            }
        )
        step = steps.get(str(entry.get("participant", "")))
        if step is not None:
            request, _, reply = event.partition(" ")
            asked = reverse_sent if request == "REVERSE" else step.asked_at
            step.replies.append(
                {
                    "request": REQUESTS.get(request, request),
                    "reply": "успех" if reply == "SUCCESS" else "отказ",
                    "at": at,
                    "took": seconds_between(asked, at),
                    "reason": reason_words(entry.get("reason")),
                }
            )
    return list(steps.values()), entries


def timeline(saga: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    """What the order page shows of the saga of `order`: its state, reason, steps and
    timeline."""
    started = when(saga.get("createdAt"))
    steps, entries = replay(saga, order, started)
    return {
        "state": SAGA_STATES.get(str(saga.get("state")), saga.get("state")),
        "compensated": saga.get("state") in ("COMPENSATING", "CANCELLED"),
        "reason": reason_in_russian(saga.get("reason")),
        "started": started,
        "steps": steps,
        "entries": entries,
    }
