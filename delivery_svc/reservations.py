"""The slot desk: holds a delivery slot for an order, turns a hold into a case's slot, and gives
places back (the customer, a REVERSE, the expiry sweeper). Every method runs inside the
caller's transaction, so a place and the hold that owns it always change together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from delivery_svc import domain, slots
from delivery_svc.repository import Repository, Session
from delivery_svc.settings import DeliverySettings
from delivery_svc.slots import Hold, Plan
from schemas.delivery_http import DeliveryKind, HoldStatus
from schemas.saga import CourierChoice, DeliveryChoice, PickupChoice
from servicekit.errors import Conflict, NotFound, StaleWrite

Clock = Callable[[], datetime]
LIVE = (HoldStatus.HELD, HoldStatus.USED)


class SlotDesk:
    def __init__(self, repo: Repository, settings: DeliverySettings, clock: Clock) -> None:
        self.repo = repo
        self.settings = settings
        self._clock = clock
        self.windows = settings.windows
        self.horizon = timedelta(days=settings.slot_horizon_days)
        self.lead = timedelta(seconds=settings.slot_lead_seconds)
        self.ttl = timedelta(seconds=settings.slot_hold_ttl_seconds)

    def clock(self) -> datetime:
        """Now, to the millisecond: what the database keeps of a time, so an answer made from
        memory and one read back later say the same."""
        now = self._clock()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    async def hold(
        self,
        username: str,
        order_id: str,
        choice: DeliveryChoice,
        session: Session,
        fresh_quote: bool = True,
    ) -> Hold:
        """The order's hold: the same request again answers the same hold; a new choice gives
        the old place back and holds a new one. Without a live hold (the saga's case) nothing
        is written before the last check, so a refusal leaves nothing behind even though the
        handler commits its FAIL reply."""
        now = self.clock()
        wire = choice.to_wire()
        existing = await self.repo.hold(order_id, session)
        plan = slots.plan_hold(existing, username, wire, now)
        if plan is Plan.KEEP and existing is not None:
            return existing
        if await self.repo.case(order_id, session) is not None:
            raise Conflict(f"order {order_id} already had its delivery confirmed or cancelled")
        address, cost = await self._terms(choice, username, now, session, fresh_quote)
        if plan is Plan.REPLACE and existing is not None:
            await self._give_back(existing, HoldStatus.RELEASED, now, session)
            existing = await self.repo.hold(order_id, session)
        slot = await self._take(choice, now, session)
        new = Hold(
            order_id=order_id,
            username=username,
            kind=DeliveryKind(choice.type),
            choice=wire,
            address=address,
            cost=cost,
            slot=slot,
            status=HoldStatus.HELD,
            expires_at=now + self.ttl,
        )
        return await self.repo.save_hold(existing, new, now, session)

    async def use(self, hold: Hold, session: Session) -> Hold:
        """The hold becomes the delivery case's slot (conditional: the sweeper may race)."""
        if not await self.repo.move_hold(hold, HoldStatus.USED, self.clock(), session):
            raise StaleWrite(f"hold {hold.order_id} changed while being confirmed")
        return replace(hold, status=HoldStatus.USED)

    async def release(self, order_id: str, session: Session) -> Hold | None:
        """Give the order's place back (a REVERSE, or the customer); a second call does
        nothing."""
        hold = await self.repo.hold(order_id, session)
        if hold is None or hold.status not in LIVE:
            return hold
        await self._give_back(hold, HoldStatus.RELEASED, self.clock(), session)
        return replace(hold, status=HoldStatus.RELEASED)

    async def expire(self, order_id: str, session: Session) -> bool:
        """The sweeper: an unconfirmed hold past its expiry gives its place back, unless a
        CONFIRM used it (or the customer replaced it) first."""
        now = self.clock()
        hold = await self.repo.hold(order_id, session)
        if hold is None or hold.status is not HoldStatus.HELD or hold.expires_at >= now:
            return False
        expired = HoldStatus.EXPIRED
        if not await self.repo.move_hold(hold, expired, now, session, expired_before=now):
            return False
        await self.repo.give_place(hold.slot.slot_id, session)
        return True

    async def _give_back(self, hold: Hold, to: HoldStatus, now: datetime, session: Session) -> None:
        if not await self.repo.move_hold(hold, to, now, session):
            raise StaleWrite(f"hold {hold.order_id} changed while being released")
        await self.repo.give_place(hold.slot.slot_id, session)

    async def _terms(
        self,
        choice: DeliveryChoice,
        username: str,
        now: datetime,
        session: Session,
        fresh_quote: bool,
    ) -> tuple[str, int]:
        """Where to deliver and at what cost, once the choice is checked."""
        if isinstance(choice, PickupChoice):
            point = await self.repo.point(choice.point_id, session)
            if point is None:
                raise NotFound(f"Pickup point not found: {choice.point_id}")
            return point["address"], 0
        assert isinstance(choice, CourierChoice)  # noqa: S101 - type narrowing, not a guard
        quote = await self.repo.quote(choice.quote_id, session)
        domain.check_quote(quote, choice, username, now, fresh=fresh_quote)
        return choice.address, choice.cost

    async def _take(self, choice: DeliveryChoice, now: datetime, session: Session) -> slots.Slot:
        """A place in the earliest window that has one."""
        resource = slots.resource_of(choice)
        capacity = (
            self.settings.pickup_slot_capacity
            if isinstance(choice, PickupChoice)
            else self.settings.courier_slot_capacity
        )
        for slot in slots.upcoming_slots(resource, now, self.windows, self.horizon, self.lead):
            if await self.repo.take_place(slot, capacity, session):
                return slot
        raise slots.NoFreeSlot(self.horizon)
