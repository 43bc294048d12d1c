"""The stock keeper: reserves, releases, books and un-books stock for an order, always together
with the order's reservation document (and picking case) in the caller's transaction, so that
stock and reservations never disagree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from schemas.catalog_http import PickingStatus as P
from schemas.catalog_http import ReservationStatus as R
from schemas.saga import ConfirmationRequest, Disposition, SagaResponse
from servicekit.errors import Conflict, StaleWrite
from servicekit.mongo import Doc
from servicekit.service import Service
from store_svc import domain, picking_rules
from store_svc.domain import Allocation, Move, OutOfStock, Plan
from store_svc.holds import PickingCases, Reservations
from store_svc.repository import Products, Session, Stocks
from store_svc.settings import StoreSettings

Clock = Callable[[], datetime]
Wanted = dict[int, int]  # product id -> quantity
REVERSED_FIRST = "reversed before confirmed"


def allocations_of(doc: Doc) -> list[Allocation]:
    return [Allocation(i["productId"], i["warehouseId"], i["quantity"]) for i in doc["items"]]


def requested_of(doc: Doc) -> Wanted:
    return {int(k): v for k, v in doc.get("requested", {}).items()}


class StockKeeper:
    def __init__(self, service: Service, settings: StoreSettings, clock: Clock) -> None:
        self.service = service
        self.settings = settings
        self.clock = clock
        self.products = Products(service.db)
        self.stocks = Stocks(service.db)
        self.reservations = Reservations(service.db)
        self.picking = PickingCases(service.db)

    def now(self) -> datetime:
        """The clock at the database's precision (milliseconds), so that what a request answers
        is what a later read answers."""
        t = self.clock()
        return t.replace(microsecond=t.microsecond // 1000 * 1000)

    async def warehouse_known(self, warehouse_id: str) -> bool:
        """One of the shop's warehouses: configured, or reported by the warehouse system's
        stock feed (an admin's count never makes up a new one: its units would be sold)."""
        if warehouse_id in self.settings.warehouses:
            return True
        return await self.stocks.has_warehouse(warehouse_id)

    async def ensure_indexes(self) -> None:
        await self.products.ensure_indexes()
        await self.stocks.ensure_indexes()
        await self.reservations.ensure_indexes()
        await self.picking.ensure_indexes()

    # -- the customer's pre-reservation -----------------------------------------------------
    async def reserve(
        self, session: Session, order_id: str, username: str, wanted: Wanted
    ) -> tuple[Doc, bool]:
        """All positions or none (OutOfStock names what is short); True when newly reserved."""
        doc = await self.reservations.get(order_id, session)
        if doc is not None and doc.get("username") not in (username, ""):
            raise Conflict(f"order {order_id} belongs to another customer")
        status = R(doc["status"]) if doc else None
        plan = domain.on_reserve(status, doc is not None and requested_of(doc) == wanted)
        if plan is Plan.KEEP:
            assert doc is not None  # noqa: S101 - type narrowing, not a guard
            return doc, False
        if plan is Plan.REFUSE:
            raise Conflict(f"order {order_id} is {status}: nothing can be reserved for it")
        now = self.now()
        if plan is Plan.REPLACE:
            assert doc is not None  # noqa: S101 - type narrowing, not a guard
            await self._move(session, allocations_of(doc), Move.RELEASE, now)
        picked = domain.allocate(wanted, await self.stocks.levels(wanted, session))
        await self._move(session, picked, Move.RESERVE, now)
        expires = now + timedelta(seconds=self.settings.reservation_ttl_seconds)
        new = _reservation(order_id, username, R.RESERVED, wanted, picked, now, expires)
        await self.reservations.put(new, doc, session)
        return new, True

    async def release(self, session: Session, order_id: str, username: str | None) -> Doc | None:
        """The owner (or an admin: `username` None) gives a pre-reservation back."""
        doc = await self.reservations.get(order_id, session)
        if doc is None or (username is not None and doc.get("username") != username):
            return None
        plan = domain.on_release(R(doc["status"]))
        if plan is Plan.REFUSE:
            raise Conflict(f"order {order_id} is booked: it is undone by cancelling the order")
        if plan is Plan.RELEASE:
            return await self._end(session, doc, R.RELEASED, Move.RELEASE)
        return doc

    async def expire(self, session: Session, order_id: str) -> bool:
        """The sweeper's release of one pre-reservation past its expiry."""
        doc = await self.reservations.get(order_id, session)
        if doc is None or doc["status"] != R.RESERVED or doc["expiresAt"] > self.now():
            return False
        await self._end(session, doc, R.EXPIRED, Move.RELEASE, unchanged=("expiresAt",))
        return True

    async def extend(self, session: Session, order_id: str, until: datetime) -> bool:
        """The order was paid: its pre-reservation is kept at least until `until`."""
        return await self.reservations.extend(order_id, until, self.now(), session)

    # -- the saga ---------------------------------------------------------------------------
    async def confirm(
        self, session: Session, msg: ConfirmationRequest
    ) -> tuple[SagaResponse, str | None]:
        """Book the order's pre-reservation, or what it paid for when nothing is held for it;
        refused after a REVERSE; FAIL with the reason when the stock is not there."""
        doc = await self.reservations.get(msg.order_id, session)
        plan = domain.on_confirm(R(doc["status"]) if doc else None)
        wanted = domain.merge_items((i.product_id, i.quantity) for i in msg.order_items)
        if plan is Plan.REFUSE:
            return SagaResponse.FAIL, REVERSED_FIRST
        if plan is Plan.BOOK and doc is not None and requested_of(doc) != wanted:
            # what was paid for is the truth: a pre-reservation of other positions goes back
            doc = await self._end(session, doc, R.RELEASED, Move.RELEASE)
            plan = Plan.SELL
        if plan is Plan.BOOK:
            assert doc is not None  # noqa: S101 - type narrowing, not a guard
            doc = await self._end(session, doc, R.BOOKED, Move.BOOK)
        elif plan is Plan.SELL:
            try:
                owner = doc["username"] if doc else msg.username or ""
                doc = await self._sell(session, msg.order_id, owner, wanted, doc)
            except OutOfStock as exc:
                await self._fail(session, msg.order_id, exc.message, doc)
                return SagaResponse.FAIL, exc.message
        if plan in (Plan.BOOK, Plan.SELL):
            assert doc is not None  # noqa: S101 - type narrowing, not a guard
            names = {str(i.product_id): i.product_name for i in msg.order_items}
            case = picking_rules.opened_case(doc["_id"], allocations_of(doc), names, self.now())
            await self.picking.open(case, session)
        return SagaResponse.SUCCESS, None

    async def reverse(
        self, session: Session, order_id: str, disposition: Disposition | None = None
    ) -> None:
        """Give back whatever is held for the order (or write it off) and remember that it
        was reversed."""
        doc = await self.reservations.get(order_id, session)
        plan = domain.on_reverse(R(doc["status"]) if doc else None)
        now = self.now()
        if plan is Plan.RELEASE:
            assert doc is not None  # noqa: S101 - type narrowing, not a guard
            await self._end(session, doc, R.REVERSED, Move.RELEASE)
        elif plan is Plan.UNBOOK:
            assert doc is not None  # noqa: S101 - type narrowing, not a guard
            await self._undo_booking(session, doc, disposition)
        elif plan is Plan.MARK and doc is not None:
            await self.reservations.transition(doc, R.REVERSED, {"updatedAt": now}, session)
        elif plan is Plan.MARK:
            tombstone = _reservation(order_id, "", R.REVERSED, {}, [], now, None)
            await self.reservations.put(tombstone, None, session)

    async def _undo_booking(
        self, session: Session, doc: Doc, disposition: Disposition | None
    ) -> None:
        """A booked order is undone: what its case did with the units decides where they go
        (picking_rules.reverse_moves); the case ends cancelled (or keeps how it ended)."""
        now = self.now()
        case = await self.picking.get(doc["_id"], session)
        status = P(case["status"]) if case else P.CREATED
        damaged = allocations_of(case["damaged"]) if case and case.get("damaged") else []
        kept = disposition or Disposition.RESTOCK
        changes = {"updatedAt": now, "disposition": kept}
        await self.reservations.transition(doc, R.REVERSED, changes, session)
        for allocation, move in picking_rules.reverse_moves(
            status, disposition, allocations_of(doc), damaged
        ):
            await self._move(session, [allocation], move, now)
        if case is not None:
            to = picking_rules.cancelled_status(status)
            entry = picking_rules.entry(to, now, "saga", reason=f"order undone ({kept})")
            await self.picking.move(
                case, to, {"closedAt": case.get("closedAt") or now}, entry, session
            )

    async def move_stock(self, session: Session, picked: list[Allocation], move: Move) -> None:
        await self._move(session, picked, move, self.now())

    async def _sell(
        self, session: Session, order_id: str, username: str, wanted: Wanted, doc: Doc | None
    ) -> Doc:
        now = self.now()
        picked = domain.allocate(wanted, await self.stocks.levels(wanted, session))
        await self._move(session, picked, Move.SELL, now)
        new = _reservation(order_id, username, R.BOOKED, wanted, picked, now, None)
        await self.reservations.put(new, doc, session)
        return new

    async def _fail(self, session: Session, order_id: str, reason: str, doc: Doc | None) -> None:
        """Remember the failed CONFIRM, so a redelivered one answers the same."""
        now = self.now()
        if doc is None:
            failed = _reservation(order_id, "", R.FAILED, {}, [], now, None)
            await self.reservations.put({**failed, "reason": reason}, None, session)
        elif doc["status"] != R.FAILED:
            changes = {"reason": reason, "updatedAt": now}
            await self.reservations.transition(doc, R.FAILED, changes, session)

    # -- stock ------------------------------------------------------------------------------
    async def _end(
        self, session: Session, doc: Doc, to: R, move: Move, unchanged: tuple[str, ...] = ()
    ) -> Doc:
        now = self.now()
        await self.reservations.transition(doc, to, {"updatedAt": now}, session, unchanged)
        await self._move(session, allocations_of(doc), move, now)
        return {**doc, "status": to, "updatedAt": now}

    async def _move(
        self, session: Session, picked: list[Allocation], move: Move, now: datetime
    ) -> None:
        for allocation in picked:
            if not await self.stocks.move(allocation, move, now, session):
                # the line changed after this transaction read it: read again and retry
                raise StaleWrite(f"cannot {move} {allocation}")


def _reservation(
    order_id: str,
    username: str,
    status: R,
    wanted: Wanted,
    picked: list[Allocation],
    now: datetime,
    expires: datetime | None,
) -> Doc:
    return {
        "_id": order_id,
        "username": username,
        "status": status,
        "requested": {str(k): v for k, v in wanted.items()},
        "items": [
            {"productId": a.product_id, "warehouseId": a.warehouse_id, "quantity": a.quantity}
            for a in picked
        ],
        "createdAt": now,
        "expiresAt": expires,
        "updatedAt": now,
    }
