"""What must hold once every order has lived its whole life (issue 13): each ended COMPLETED,
CANCELLED, RETURNED or FAILED; each one undone after payment refunded exactly once; every unit
of stock on hand, booked, shipped or written off; one picking case and one delivery case per
confirmed order; and no parcel moving before the warehouse handed it over."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

from trials.invariants.money import TAKEN, via_bank
from trials.invariants.snapshot import CONFIRMED_OR_LATER, Check, Doc, Docs, Snapshot, check

ENDED = {"COMPLETED", "CANCELLED", "RETURNED", "FAILED"}
UNDONE = {"CANCELLED", "RETURNED"}  # the customer's money goes back
PICKING_OPEN = {"CREATED", "PICKING", "PICKED"}
PICKING_ENDED = {"HANDED_OVER", "DAMAGED", "CANCELLED"}
CASE_ENDED = {"RECEIVED", "RETURNED", "LOST", "CANCELLED"}
# a delivery case in one of these has the parcel (or had it): only after the hand-over
CASE_MOVED = {"IN_TRANSIT", "AT_PICKUP_POINT", "OUT_FOR_DELIVERY", "RECEIVED", "RETURNED", "LOST"}
StockKey = tuple[int, str]


def orders_ended(s: Snapshot) -> Check:
    by_status = Counter(o["status"] for o in s.orders)
    bad = [f"{o['_id']} {o['status']}" for o in s.orders if o["status"] not in ENDED]
    return check(
        "every order ended COMPLETED, CANCELLED, RETURNED or FAILED", bad, f"{dict(by_status)}"
    )


def ever_confirmed(order: Doc) -> bool:
    """The saga confirmed it at some point (it may have been cancelled or returned since)."""
    if order["status"] in CONFIRMED_OR_LATER or order["status"] == "RETURNED":
        return True
    return any(h.get("status") == "CONFIRMED" for h in order.get("history") or [])


# --- money back ------------------------------------------------------------------------------


def refunds_of(s: Snapshot) -> Counter[str]:
    """What went back per payment: the bank's successful refunds (by the payment's charge) and
    billing's REFUND credits."""
    charge_of = {
        str(row["answer"].get("chargeId")): str(row["key"]).split(":")[0]
        for row in s.ledger
        if row.get("op") == "charge" and isinstance(row.get("answer"), dict)
    }
    back: Counter[str] = Counter()
    seen: set[str] = set()
    for row in s.ledger:
        if row.get("op") != "refund" or row["key"] in seen:
            continue
        seen.add(row["key"])
        if str(row["answer"].get("status", "")).upper() == "SUCCEEDED":
            back[charge_of.get(str(row.get("chargeId")), "?")] += int(row["amount"])
    for e in s.entries:
        if e["reason"] == "REFUND":
            back[str(e.get("paymentId"))] += int(e["amount"])
    return back


def undone_orders_refunded_once(s: Snapshot) -> Check:
    """A cancelled or returned order gave back every payment that took money, exactly its
    amount (twice would show as more, never as the same), and says REFUNDED."""
    back = refunds_of(s)
    credits = Counter(str(e.get("paymentId")) for e in s.entries if e["reason"] == "REFUND")
    undone = {o["_id"]: o for o in s.orders if o["status"] in UNDONE}
    bad, refunded = [], 0
    for p in s.payments:
        order = undone.get(p.get("orderId"))
        if order is None or p["status"] not in TAKEN:
            continue
        refunded += 1
        if p["status"] != "REFUNDED" or back[p["_id"]] != int(p["amount"]):
            bad.append(
                f"{order['status']} order {order['_id']}: payment {p['_id']} of {p['amount']} "
                f"{p['status']}, given back {back[p['_id']]}"
            )
        if not via_bank(p) and credits[p["_id"]] != 1:
            bad.append(f"payment {p['_id']}: {credits[p['_id']]} refund credits")
    return check(
        "every cancelled or returned paid order refunded exactly once",
        bad,
        f"{len(undone)} orders cancelled or returned, {refunded} payments given back",
    )


# --- stock -----------------------------------------------------------------------------------


def units(items: Iterable[Doc]) -> Counter[int]:
    total: Counter[int] = Counter()
    for i in items:
        total[int(i["productId"])] += int(i["quantity"])
    return total


def written_off_by_store(picking: Doc) -> Counter[int]:
    """The damaged item of a damaged case (its quantity, 1 unless said)."""
    damaged = picking.get("damaged") or {}
    if picking["status"] != "DAMAGED" or not damaged:
        return Counter()
    return Counter({int(damaged["productId"]): int(damaged.get("quantity") or 1)})


def expected_stock(s: Snapshot) -> tuple[Counter[int], Counter[int], Counter[int]]:
    """Per product: units booked (picking open), units that must have left the stock (shipped
    or written off), and units that may have left it as well (returned orders: restocked or
    written off, as the admin chose)."""
    status = {o["_id"]: o["status"] for o in s.goods_orders}
    lost = {c["_id"] for c in s.cases if c["status"] == "LOST"}
    booked, gone, maybe = Counter[int](), Counter[int](), Counter[int]()
    for p in s.picking:
        items = units(p.get("items") or [])
        if p["status"] in PICKING_OPEN:
            booked += items
        elif p["status"] == "DAMAGED":
            gone += written_off_by_store(p)
        elif p["status"] == "HANDED_OVER":
            order = status.get(p["_id"])
            if order == "RETURNED":
                maybe += items
            elif order != "CANCELLED" or p["_id"] in lost:
                gone += items
    return booked, gone, maybe


def stock_lines_add_up(
    s: Snapshot, initial: dict[StockKey, int], per_product: bool = True
) -> Check:
    """Per line: what was received is on hand, booked, shipped or written off; reserved is
    what live reservations hold; nothing negative. Per product (`per_product`, once nothing
    moves any more): booked is what open picking cases hold, and shipped + written off is what
    left for delivered, lost or damaged goods."""
    live: Counter[StockKey] = Counter()
    for r in s.reservations:
        if r["status"] == "RESERVED":
            for i in r["items"]:
                live[(i["productId"], i["warehouseId"])] += i["quantity"]
    bad = []
    booked, left = Counter[int](), Counter[int]()
    for line in s.stocks:
        key = (line["productId"], line["warehouseId"])
        shipped, off = line.get("shipped", 0), line.get("writtenOff", 0)
        on_hand, reserved = line["onHand"], line["reserved"]
        counted = on_hand + line["booked"] + shipped + off
        if initial.get(key, counted) != counted:
            bad.append(
                f"{key}: initial {initial.get(key)} != on-hand {on_hand} + booked "
                f"{line['booked']} + shipped {shipped} + written off {off}"
            )
        if reserved != live[key]:
            bad.append(f"{key}: reserved {reserved} != live reservations {live[key]}")
        if min(on_hand, reserved, line["booked"], shipped, off, line["available"]) < 0:
            bad.append(f"{key}: a negative count {line}")
        if line["available"] != on_hand - reserved:
            bad.append(f"{key}: available {line['available']} != {on_hand} - {reserved}")
        booked[int(line["productId"])] += line["booked"]
        left[int(line["productId"])] += shipped + off
    want_booked, gone, maybe = expected_stock(s) if per_product else (booked, left, Counter())
    for p in set(booked) | set(want_booked):
        if booked[p] != want_booked[p]:
            bad.append(f"product {p}: booked {booked[p]} != open picking {want_booked[p]}")
    for p in set(left) | set(gone) | set(maybe):
        if not gone[p] <= left[p] <= gone[p] + maybe[p]:
            bad.append(
                f"product {p}: shipped + written off {left[p]}, expected {gone[p]} "
                f"(+ up to {maybe[p]} returned)"
            )
    return check(
        "stock conserved: on hand + booked + shipped + written off = received",
        bad,
        f"{len(s.stocks)} lines, {sum(booked.values())} booked, {sum(left.values())} gone",
    )


# --- cases -----------------------------------------------------------------------------------


def one_case_each(s: Snapshot) -> Check:
    """Each confirmed order has its picking case and its delivery case, ended once the order
    has; an order that ended without being confirmed has none still going; a completed (or
    returned) order's parcel was handed over and received."""
    orders = {o["_id"]: o for o in s.goods_orders}
    bad = []
    for name, docs, ended in (
        ("picking case", s.picking, PICKING_ENDED),
        ("delivery case", s.cases, CASE_ENDED),
    ):
        by_order: defaultdict[str, Docs] = defaultdict(list)
        for d in docs:
            by_order[str(d.get("orderId") or d["_id"])].append(d)
        for oid, order in orders.items():
            mine = by_order.pop(oid, [])
            if ever_confirmed(order):
                if len(mine) != 1:
                    bad.append(f"confirmed order {oid}: {len(mine)} {name}s")
                elif order["status"] in ENDED and mine[0]["status"] not in ended:
                    bad.append(f"{order['status']} order {oid}: {name} {mine[0]['status']}")
            elif order["status"] in ENDED and any(d["status"] not in ended for d in mine):
                # store opens its case on its own CONFIRM, so the warehouse may pick an order
                # whose saga then fails; the REVERSE must end the case
                bad.append(f"{order['status']} order {oid} never confirmed has a live {name}")
        bad += [f"{name} for an unknown order {oid}" for oid in by_order]
    picking = {p["_id"]: p["status"] for p in s.picking}
    cases = {c["_id"]: c["status"] for c in s.cases}
    for oid, order in orders.items():
        if order["status"] in ("COMPLETED", "RETURNED") and (
            picking.get(oid) != "HANDED_OVER" or cases.get(oid) != "RECEIVED"
        ):
            bad.append(
                f"{order['status']} order {oid}: picking {picking.get(oid)}, "
                f"delivery {cases.get(oid)}"
            )
    return check(
        "one picking case and one delivery case per confirmed order",
        bad,
        f"{len(s.picking)} picking cases, {len(s.cases)} delivery cases",
    )


def first_at(doc: Doc, statuses: set[str]) -> datetime | None:
    moments = [h["at"] for h in doc.get("history") or [] if h.get("status") in statuses]
    return min(moments) if moments else None


def parcels_moved_after_hand_over(s: Snapshot) -> Check:
    picking = {p["_id"]: p for p in s.picking}
    bad, moved = [], 0
    for c in s.cases:
        started = first_at(c, CASE_MOVED)
        if started is None:
            continue
        moved += 1
        p = picking.get(c["_id"])
        handed = first_at(p, {"HANDED_OVER"}) if p else None
        if handed is None or started < handed:
            bad.append(
                f"delivery case {c['_id']} {c['status']} moved at {started}, picking case "
                f"{p['status'] if p else None} handed over at {handed}"
            )
    return check(
        "no delivery case moved before its picking case was handed over",
        bad,
        f"{moved} parcels moved",
    )


FULFILMENT_CHECKS = [
    orders_ended,
    undone_orders_refunded_once,
    one_case_each,
    parcels_moved_after_hand_over,
]
