"""The money invariants (issue #11): what the bank moved equals what the shop kept from
bank-paid payments; every wallet and gift card is the sum of its entries and never negative;
a captured top-up is credited once; a billing payment is debited once and refunded at most
once; a paid gift-card order issued one card; an order keeps one payment's money or none."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from trials.invariants.snapshot import CONFIRMED_OR_LATER, Check, Doc, Docs, Snapshot, check

BANK_METHODS = {"BANK_CARD", "QR_PAY"}
TAKEN = {"SUCCEEDED", "REFUNDED", "REFUND_PENDING"}  # the payer's money moved once


def via_bank(p: Doc) -> bool:
    """Payments written before `via` existed were all bank card payments."""
    if "via" in p:
        return bool(p["via"] == "bank")
    return p.get("method", "BANK_CARD") in BANK_METHODS


def given_back(p: Doc) -> int:
    return int(p["amount"]) if p["status"] == "REFUNDED" else int(p.get("refunded") or 0)


def kept(p: Doc) -> int:
    """What the shop holds of a payment once every refund of it is done."""
    return int(p["amount"]) - given_back(p) if p["status"] in ("SUCCEEDED", "REFUNDED") else 0


def purpose(p: Doc) -> str:
    return str(p.get("purpose") or "ORDER")


@dataclass
class BankBook:
    """The bank ledger: a charge line per key, then `settle` lines with its later answers (a
    QR charge is written pending, then paid or expired: the last answer wins); `card` and
    `secret` lines are the bank keeping a card or its webhook key, not money."""

    charges: dict[str, Doc] = field(default_factory=dict)
    refunds: dict[str, Doc] = field(default_factory=dict)

    @classmethod
    def read(cls, ledger: Docs) -> BankBook:
        book = cls()
        for row in ledger:
            if row.get("op") == "charge":
                book.charges[row["key"]] = row
            elif row.get("op") == "settle" and row.get("key") in book.charges:
                book.charges[row["key"]] = {**book.charges[row["key"]], "answer": row["answer"]}
            elif row.get("op") == "refund":
                book.refunds[row["key"]] = row
        return book

    def captured(self) -> dict[str, Doc]:
        return {k: c for k, c in self.charges.items() if succeeded(c)}

    def refunded_per_charge(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for r in self.refunds.values():
            if succeeded(r):
                total[r["chargeId"]] += int(r["amount"])
        return total

    def net_per_payment(self) -> Counter[str]:
        """Captured minus refunded per payment (a charge's key starts with its payment's id)."""
        refunded = self.refunded_per_charge()
        net: Counter[str] = Counter()
        for key, charge in self.captured().items():
            paid = int(charge["amount"]) - refunded[charge["answer"]["chargeId"]]
            net[key.split(":")[0]] += paid
        return net


def succeeded(row: Doc) -> bool:
    return str(row["answer"]["status"]).upper() == "SUCCEEDED"


def bank_matches_shop(s: Snapshot) -> Check:
    book = BankBook.read(s.ledger)
    net = book.net_per_payment()
    bank_paid = {p["_id"]: p for p in s.payments if via_bank(p)}
    bad = [
        f"payment {pid} ({p['status']}): bank net {net[pid]} != kept {kept(p)}"
        for pid, p in bank_paid.items()
        if net[pid] != kept(p)
    ]
    bad += [
        f"bank charge for unknown payment {pid}: {n}"
        for pid, n in net.items()
        if pid not in bank_paid
    ]
    bad += [f"payment {p['_id']} stuck {p['status']}" for p in s.payments if stuck(p)]
    bad += [
        f"refund {r['_id']} stuck {r['status']}" for r in s.refunds if r["status"] != "SUCCEEDED"
    ]
    captured = sum(int(c["amount"]) for c in book.captured().values())
    refunded = sum(book.refunded_per_charge().values())
    shop = sum(kept(p) for p in bank_paid.values())
    if captured - refunded != shop:
        bad.append(f"bank captured {captured} - refunded {refunded} != shop kept {shop}")
    return check(
        "bank captures - bank refunds = what the shop kept of bank-paid payments",
        bad,
        f"captured {captured}, refunded {refunded}, kept {shop}, {len(book.captured())} "
        f"captures, {len(bank_paid)} bank-paid payments, {len(s.refunds)} admin refunds",
    )


def stuck(p: Doc) -> bool:
    """Refunds run by themselves; a QR code left unscanned stays PENDING until it expires."""
    pending_qr = p["status"] == "PENDING" and p.get("method") == "QR_PAY"
    return p["status"] in ("PENDING", "REFUND_PENDING") and not pending_qr


def orders_paid_once(s: Snapshot) -> Check:
    """A confirmed (or completed gift-card) order keeps exactly one payment of its total; a
    cancelled or failed one keeps none."""
    per_order: defaultdict[str, Docs] = defaultdict(list)
    for p in s.payments:
        if purpose(p) != "TOP_UP":
            per_order[p["orderId"]].append(p)
    bad = []
    for o in s.orders:
        paid = [p for p in per_order[o["_id"]] if p["status"] == "SUCCEEDED"]
        if len(paid) > 1:
            bad.append(f"order {o['_id']}: {len(paid)} succeeded payments")
        amounts = [p["amount"] for p in paid]
        if o["status"] in CONFIRMED_OR_LATER and amounts != [o["total"]]:
            bad.append(f"{o['status']} order {o['_id']} of {o['total']}: paid {amounts}")
        if o["status"] in ("CANCELLED", "RETURNED", "FAILED") and any(
            kept(p) for p in per_order[o["_id"]]
        ):
            bad.append(f"{o['status']} order {o['_id']} still holds its customer's money")
    kept_for_orders = sum(kept(p) for p in s.payments if purpose(p) != "TOP_UP")
    return check(
        "each confirmed order kept one payment of its total, no cancelled one kept any",
        bad,
        f"{sum(len(v) for v in per_order.values())} order payments keep {kept_for_orders}",
    )


def balances_are_entries(s: Snapshot) -> Check:
    sums: Counter[tuple[str, str]] = Counter()
    for e in s.entries:
        sums[(e["accountKind"], str(e["accountId"]))] += int(e["amount"])
    accounts = [("WALLET", w) for w in s.wallets] + [("GIFT_CARD", g) for g in s.gift_cards]
    bad = []
    for kind, a in accounts:
        total = sums.pop((kind, str(a["_id"])), 0)
        if a["balance"] != total or a["balance"] < 0:
            bad.append(f"{kind} {a['_id']}: balance {a['balance']}, entries sum {total}")
    bad += [f"entries of a missing {k} {i}: {n}" for (k, i), n in sums.items()]
    bad += [
        f"entry {e['_id']} left {e['balanceAfter']}" for e in s.entries if e["balanceAfter"] < 0
    ]
    return check(
        "every wallet and gift card is the sum of its entries, never negative",
        bad,
        f"{len(s.wallets)} wallets, {len(s.gift_cards)} gift cards, {len(s.entries)} entries",
    )


def entries_by_payment(entries: Docs, reason: str) -> defaultdict[str, Docs]:
    found: defaultdict[str, Docs] = defaultdict(list)
    for e in entries:
        if e["reason"] == reason:
            found[str(e.get("paymentId"))].append(e)
    return found


def top_ups_credited_once(s: Snapshot) -> Check:
    credits = entries_by_payment(s.entries, "TOP_UP")
    top_ups = {p["_id"]: p for p in s.payments if purpose(p) == "TOP_UP"}
    bad = []
    for pid, p in top_ups.items():
        amounts = [e["amount"] for e in credits.pop(pid, [])]
        if p["status"] == "SUCCEEDED" and amounts != [p["amount"]]:
            bad.append(f"captured top-up {pid} of {p['amount']} credited {amounts}")
        if p["status"] not in TAKEN and amounts:
            bad.append(f"{p['status']} top-up {pid} credited {amounts}")
    bad += [f"top-up credit for unknown payment {pid}" for pid in credits]
    done = sum(1 for p in top_ups.values() if p["status"] == "SUCCEEDED")
    return check(
        "every captured top-up credited exactly once, no other",
        bad,
        f"{len(top_ups)} top-ups, {done} captured",
    )


def billing_payments_once(s: Snapshot) -> Check:
    """A wallet or gift-card payment: one debit if it went through, refunds never beyond it;
    what billing holds of it equals what payment says the shop kept."""
    debits = entries_by_payment(s.entries, "PAYMENT")
    credits = entries_by_payment(s.entries, "REFUND")
    bad = []
    for p in (p for p in s.payments if not via_bank(p)):
        debited = [-e["amount"] for e in debits.pop(p["_id"], [])]
        back = sum(e["amount"] for e in credits.pop(p["_id"], []))
        wanted = [p["amount"]] if p["status"] in TAKEN else []
        if debited != wanted:
            bad.append(f"{p['status']} payment {p['_id']} of {p['amount']} debited {debited}")
        if sum(debited) - back != kept(p):
            bad.append(
                f"payment {p['_id']}: debited {sum(debited)} - refunded {back} != kept {kept(p)}"
            )
    bad += [f"debit for unknown payment {pid}" for pid in debits]
    bad += [f"refund credit for unknown payment {pid}" for pid in credits]
    return check(
        "each wallet or gift-card payment debited once and refunded at most once",
        bad,
        f"{sum(1 for p in s.payments if not via_bank(p))} billing payments",
    )


def gift_cards_issued_once(s: Snapshot) -> Check:
    cards: defaultdict[str, Docs] = defaultdict(list)
    for g in s.gift_cards:
        cards[str(g.get("orderId"))].append(g)
    issues = Counter(str(e["accountId"]) for e in s.entries if e["reason"] == "ISSUE")
    bad = []
    for o in (o for o in s.orders if o.get("kind") == "GIFT_CARD"):
        mine = cards.pop(o["_id"], [])
        want = 1 if o["status"] == "COMPLETED" else 0
        if len(mine) != want:
            bad.append(f"{o['status']} gift-card order {o['_id']}: {len(mine)} cards")
    bad += [f"card for an unknown order {order}" for order in cards]
    bad += [
        f"gift card {g['_id']}: {issues[str(g['_id'])]} issues"
        for g in s.gift_cards
        if issues[str(g["_id"])] != 1
    ]
    return check(
        "every paid gift-card order issued exactly one card, credited once",
        bad,
        f"{len(s.gift_cards)} gift cards, "
        f"{sum(1 for g in s.gift_cards if g.get('status') == 'ACTIVE')} activated",
    )


MONEY_CHECKS = [
    bank_matches_shop,
    orders_paid_once,
    balances_are_entries,
    top_ups_credited_once,
    billing_payments_once,
    gift_cards_issued_once,
]
