"""What `sagashop bench` reads around each level: CPU seconds of every process (from
/proc/<pid>/stat), the services' own Prometheus counters (/metrics) and the database server's
operation counters (serverStatus), plus a description of the machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

from launcher.stack import Stack
from trials.invariants.checks import lag

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
DRIVER = "bench driver"
# the families every service exports (servicekit/metrics.py), summed over their labels
TRANSACTIONS = "sagashop_db_transactions_total"
PRODUCED = "sagashop_outbox_messages_total"
CONSUMED = "sagashop_messages_total"
HANDLING = "sagashop_handle_seconds_sum"  # wall time spent in message handlers
DATABASE = "database (secantus)"  # its row in the CPU table
HOPS = "sagashop_hop_seconds"  # one message's way by topic and part (servicekit/metrics.py)
LABEL = re.compile(r'(\w+)="([^"]*)"')
MOVING = (TRANSACTIONS, PRODUCED, CONSUMED)  # what changes while the system still works
UNSENT = ("PENDING", "SENDING")  # a notification on its way to a gateway


# -- CPU ------------------------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, utime + stime in seconds) of one process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()  # the name may hold spaces and parentheses
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _all_stats() -> dict[int, tuple[int, float]]:
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = st
    return stats


def watched_pids(stack: Stack) -> dict[str, int]:
    """Every process of the system: services, simulators, broker, database, and this driver."""
    pids = {name: proc.pid for name, proc in stack.procs.items() if proc.pid}
    if stack.infra is not None:
        if stack.infra.kafka.pid:
            pids["broker (tansu)"] = stack.infra.kafka.pid
        if stack.infra.mongo.pid:
            pids[DATABASE] = stack.infra.mongo.pid
    pids[DRIVER] = os.getpid()
    return {k: v for k, v in pids.items() if v is not None}


def _machine_busy() -> float:
    """Seconds of CPU the whole machine has been busy (all cores, /proc/stat)."""
    with contextlib.suppress(OSError, ValueError):
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return (sum(values[:8]) - idle) / TICKS
    return 0.0


@dataclass
class CpuSample:
    at: float
    seconds: dict[str, float]  # process name -> CPU seconds (its descendants included)
    machine: float

    @classmethod
    def take(cls, pids: dict[str, int]) -> CpuSample:
        stats = _all_stats()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in stats.items():
            children.setdefault(ppid, []).append(pid)

        def tree(pid: int) -> float:
            total, todo = 0.0, [pid]
            while todo:
                p = todo.pop()
                total += stats[p][1] if p in stats else 0.0
                todo += children.get(p, [])
            return total

        seconds = {
            # the driver's children are the system itself: count the driver alone
            name: (stats[pid][1] if pid in stats else 0.0) if name == DRIVER else tree(pid)
            for name, pid in pids.items()
        }
        return cls(time.monotonic(), seconds, _machine_busy())


def cpu_shares(before: CpuSample, after: CpuSample) -> dict[str, float]:
    """Cores used by each process over the interval (1.0 = one core busy all the time), the
    whole machine, and everything else on it (other engineers' tests, the kernel...)."""
    wall = max(after.at - before.at, 1e-9)
    shares = {
        name: round(max(after.seconds.get(name, 0.0) - spent, 0.0) / wall, 3)
        for name, spent in before.seconds.items()
    }
    ours = sum(shares.values())
    machine = round(max(after.machine - before.machine, 0.0) / wall, 3)
    shares["(other processes)"] = round(max(machine - ours, 0.0), 3)
    shares["(whole machine)"] = machine
    return shares


# -- counters -------------------------------------------------------------------------------
@dataclass
class Counters:
    """The services' counters and the database server's operation counters at one moment."""

    per_service: dict[str, dict[str, float]] = field(default_factory=dict)
    consumed_by_outcome: Counter[str] = field(default_factory=Counter)
    db_ops: dict[str, int] = field(default_factory=dict)
    processes: dict[str, int] = field(default_factory=dict)  # a service's replicas, summed
    # (topic, part) -> the hop histogram summed over every process: "sum", "count" and the
    # cumulative bucket counts by upper bound ("le"; inf last)
    hops: dict[tuple[str, str], Hop] = field(default_factory=dict)

    def total(self, family: str) -> float:
        return sum(values.get(family, 0.0) for values in self.per_service.values())


def parse_metrics(text: str) -> tuple[dict[str, float], Counter[str]]:
    """The families' totals from Prometheus text, and consumed messages by outcome."""
    totals: dict[str, float] = {}
    outcomes: Counter[str] = Counter()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        if name not in (TRANSACTIONS, PRODUCED, CONSUMED, HANDLING):
            continue
        totals[name] = totals.get(name, 0.0) + float(value)
        if name == CONSUMED and 'outcome="' in name_labels:
            outcome = name_labels.split('outcome="', 1)[1].split('"', 1)[0]
            outcomes[outcome] += int(float(value))
    return totals, outcomes


@dataclass
class Hop:
    """One (topic, part) histogram: seconds summed, observations, cumulative buckets."""

    sum: float = 0.0
    count: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)

    def add(self, other: Hop, sign: float = 1.0) -> None:
        self.sum += sign * other.sum
        self.count += sign * other.count
        for le, n in other.buckets.items():
            self.buckets[le] = self.buckets.get(le, 0.0) + sign * n


def parse_hops(text: str) -> dict[tuple[str, str], Hop]:
    """The sagashop_hop_seconds histograms of one process's Prometheus text."""
    hops: dict[tuple[str, str], Hop] = {}
    for line in text.splitlines():
        if not line.startswith(HOPS + "_"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name, _, labels = name_labels.partition("{")
        found = dict(LABEL.findall(labels))
        if "topic" not in found or "part" not in found:
            continue
        hop = hops.setdefault((found["topic"], found["part"]), Hop())
        kind = name.removeprefix(HOPS + "_")
        if kind == "sum":
            hop.sum += float(value)
        elif kind == "count":
            hop.count += float(value)
        elif kind == "bucket" and "le" in found:
            hop.buckets[float(found["le"])] = float(value)
    return hops


class Observer:
    """Reads the counters of a running stack; one HTTP session and one database client."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo)

    async def close(self) -> None:
        await self.http.close()
        await self.mongo.close()

    async def counters(self) -> Counters:
        # a service run as replicas: each replica's own counters, summed (its round-robin
        # would answer with one replica's, a different one each time)
        service_of = {
            process: name
            for name in self.stack.names
            for process in self.stack.replica_names(name) or [name]
        }

        async def scrape(process: str) -> tuple[str, str]:
            async with self.http.get(f"{self.stack.procs[process].url}/metrics") as resp:
                return process, await resp.text() if resp.status == 200 else ""

        found = Counters()
        for process, text in await asyncio.gather(*(scrape(p) for p in service_of)):
            totals, outcomes = parse_metrics(text)
            summed = found.per_service.setdefault(service_of[process], {})
            found.processes[service_of[process]] = found.processes.get(service_of[process], 0) + 1
            for family, value in totals.items():
                summed[family] = summed.get(family, 0.0) + value
            found.consumed_by_outcome.update(outcomes)
            for key, hop in parse_hops(text).items():
                found.hops.setdefault(key, Hop()).add(hop)
        with contextlib.suppress(Exception):
            status = await self.mongo.admin.command("serverStatus")
            found.db_ops = {k: int(v) for k, v in status.get("opcounters", {}).items()}
        return found

    async def pending(self) -> dict[str, int]:
        """Work left that the counters do not show moving: unsent outbox messages (published
        ones wait a poll to be deleted together) and notifications not yet handed to a
        gateway (the sender claims them outside a consumed message)."""
        left: dict[str, int] = {}
        for name in self.stack.names:
            if count := await self.mongo[name].outbox.count_documents({}):
                left[f"{name} outbox"] = count
        if "notification_svc" in self.stack.names:
            unsent = {"status": {"$in": list(UNSENT)}}
            if count := await self.mongo.notification_svc.notifications.count_documents(unsent):
                left["notifications unsent"] = count
        return left

    async def settle(
        self, timeout: float = 180.0, still: float = 2.0, poll: float = 0.5
    ) -> tuple[Counters, Quiet]:
        """Counters once the system is quiet: the services' counters have not moved for
        `still` seconds, no outbox or notification is left, and no consumer group is behind
        (read last, it is the slow one). Gives up after `timeout` and says what still moved."""
        started = time.monotonic()
        last = await self.counters()
        still_since, busy = started, ["nothing read yet"]
        while True:
            await asyncio.sleep(poll)
            now = await self.counters()
            moved = [
                f"{_short(f)} +{now.total(f) - last.total(f):g}"
                for f in MOVING
                if now.total(f) != last.total(f)
            ]
            if moved:
                busy, still_since = moved, time.monotonic()
            elif time.monotonic() - still_since >= still:
                left = await self.pending()
                if not left:
                    left = {f"{k} lag": v for k, v in (await lag(self.stack)).items() if v}
                if not left:
                    return now, Quiet(True, round(time.monotonic() - started, 1))
                busy, still_since = [f"{k} {v}" for k, v in left.items()], time.monotonic()
            last = now
            if time.monotonic() - started >= timeout:
                return now, Quiet(False, round(time.monotonic() - started, 1), ", ".join(busy))


def _short(family: str) -> str:
    return family.removeprefix("sagashop_").removesuffix("_total")


@dataclass
class Quiet:
    """Whether the system got quiet within the bound, after how long, and (when it did not)
    what still moved or was left when the bench gave up."""

    quiet: bool
    seconds: float
    busy: str = ""


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_gib = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
        mem_gib = round(kib / 1024 / 1024, 1)
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": mem_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
