"""The chaos monkey: SIGKILLs service and simulator processes at random moments and restarts
them (sometimes armed to crash right before or after a commit), kills the database once and
turns the bank slow for a while."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import aiohttp

from launcher.processes import ServiceProcess
from launcher.stack import Stack
from trials.chaos.config import FULFILMENT_SIMULATORS, ChaosConfig
from trials.chaos.report import Event
from trials.chaos.takeover import Takeover, TakeoverWatch

log = logging.getLogger("sagashop.chaos")
CRASH_POINTS = "tx.before_commit@0.01,outbox.after_commit@0.01"


class Monkey:
    """Kills service processes at random moments and restarts them after a random delay;
    every killable service at least once, sometimes two at once, sometimes the same again
    right after its restart."""

    def __init__(self, stack: Stack, cfg: ChaosConfig, rng: random.Random, t0: float) -> None:
        self.stack, self.cfg, self.rng, self.t0 = stack, cfg, rng, t0
        # a service run as replicas dies one replica at a time (its round-robin is not a victim)
        self.victims = [
            replica
            for name in cfg.services
            or [*stack.names, *(n for n in FULFILMENT_SIMULATORS if n in stack.procs)]
            for replica in stack.replica_names(name) or [name]
        ]
        self.schedule: list[Event] = []
        self.pending = list(self.victims)
        rng.shuffle(self.pending)
        self.last_kill = t0
        self.watch = TakeoverWatch(stack.kafka, stack.mongo)

    def note(self, what: str, target: str) -> None:
        event = Event(round(time.monotonic() - self.t0, 2), what, target)
        self.schedule.append(event)
        log.warning("chaos t=%.1fs %s %s", event.at, what, target)

    async def kill(self, name: str) -> None:
        """The supervisor leaves `name` alone until the monkey has restarted it."""
        proc = self.stack.procs[name]
        self.stack.expected_down.add(name)
        try:
            # a killed replica stays down past the group's session timeout and the rebalance
            # after it (ChaosConfig.replica_down): its siblings hold its partitions a while
            down = self.cfg.replica_down if "." in name else (0.3, 4.0)
            await self._kill_and_restart(proc, name, "SIGKILL", down)
            if self.rng.random() < 0.15:  # again, right after its restart
                await asyncio.sleep(self.rng.uniform(0.2, 1.5))
                await self._kill_and_restart(proc, name, "SIGKILL again", (0.3, 2.0))
        finally:
            self.stack.expected_down.discard(name)

    async def _kill_and_restart(
        self, proc: ServiceProcess, name: str, what: str, pause: tuple[float, float]
    ) -> None:
        down = self.rng.uniform(*pause)
        siblings = [
            self.stack.procs[r]
            for r in self.stack.replica_names(name.split(".")[0])
            if r != name and r not in self.stack.expected_down and self.stack.procs[r].alive()
        ]
        takeover = None
        if "." in name and what == "SIGKILL":
            at = round(time.monotonic() - self.t0, 2)
            takeover = Takeover(name, at, [s.name for s in siblings])
            await self.watch.before(takeover, proc.pid)
        proc.kill()
        self.last_kill = time.monotonic()
        self.note(what, name)
        if takeover is not None:
            pids = [s.pid for s in siblings if s.pid is not None]
            await self.watch.after(takeover, self.last_kill, self.last_kill + down, pids)
        await asyncio.sleep(max(0.0, self.last_kill + down - time.monotonic()))
        proc.restarts += 1
        if self.rng.random() < 0.15:
            # this life ends by itself at a chosen instant: right before or right after a
            # commit, where a wrong order of "write, then publish" shows
            proc.start(SAGASHOP_FAULTS=CRASH_POINTS)
            self.note("restart armed", name)
        else:
            proc.start()
            self.note("restart", name)

    async def run(self, stop: asyncio.Event) -> None:
        kills: list[asyncio.Task[None]] = []
        while not stop.is_set():
            await asyncio.sleep(self.rng.uniform(*self.cfg.kill_interval))
            if stop.is_set():
                break
            first = self.pending.pop() if self.pending else self.rng.choice(self.victims)
            targets = {first}
            if self.rng.random() < 0.25:
                targets.add(self.rng.choice(self.victims))
            targets = {await self.aim(t) for t in targets}
            busy = {t.get_name() for t in kills if not t.done()}
            for target in targets - busy:
                kills.append(asyncio.create_task(self.kill(target), name=target))
        await asyncio.gather(*kills)

    async def aim(self, name: str) -> str:
        """A replica dies as the one holding its service's leases when one does: losing the
        holder is the case that matters (its partitions and its leases both move; the next kill
        of that service finds the sibling holding them)."""
        if "." not in name:
            return name
        service = name.split(".")[0]
        up = [(r, self.stack.procs[r]) for r in self.stack.replica_names(service)]
        pids = {p.pid: r for r, p in up if p.pid is not None and p.alive()}
        return await self.watch.holder(service, pids) or name

    async def kill_database(self) -> None:
        if self.stack.infra is None:
            return
        self.note("SIGKILL", "mongodb")
        self.last_kill = time.monotonic()
        await self.stack.infra.restart_mongo()
        self.note("restart", "mongodb")

    async def slow_bank(self, seconds: float) -> None:
        url = self.stack.procs["bank_sim"].url if "bank_sim" in self.stack.procs else None
        if url is None:
            return
        async with aiohttp.ClientSession(headers=self.stack.bank_admin_headers()) as http:
            self.note("slow + timing out", "bank_sim")
            await configure_bank(http, url, latencyMs=1500, timeoutRate=0.2)
            await asyncio.sleep(seconds)
            await configure_bank(http, url, latencyMs=0, timeoutRate=0.0)
            self.note("healthy again", "bank_sim")


async def configure_bank(http: aiohttp.ClientSession, url: str, **config: float) -> None:
    """A refused change (a wrong token, a bound) must stop the run, not leave the bank
    healthy while the report says it was slow."""
    async with http.put(f"{url}/config", json=config) as resp:
        resp.raise_for_status()


async def timed_faults(monkey: Monkey, cfg: ChaosConfig) -> None:
    """The database dies once early in the run; later the bank slows down for a while."""
    await asyncio.sleep(cfg.database_kill_at)
    if cfg.mongo_kill:
        await monkey.kill_database()
    await asyncio.sleep(max(0.0, monkey.t0 + cfg.bank_slow_at - time.monotonic()))
    if cfg.bank_faults:
        await monkey.slow_bank(15)
