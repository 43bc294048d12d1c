"""`sagashop report-bench`: how fast order_svc writes a daily report (003) over N sold units
while its edge keeps serving customers.

It starts its own embedded broker and database, auth_svc and order_svc as processes, puts a
day's confirmed orders straight into order_svc's database (5 units each, shaped as order_svc
writes them), measures a customer's `GET /orders` latency at rest, then starts the report by
API key and keeps calling `GET /orders` while the report is written. It prints the units
written, the time (server side, start to DONE), units/s, and the edge's latency at rest and
meanwhile."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

from launcher.embedded import EmbeddedInfra, free_port
from launcher.processes import ServiceProcess

UNITS_PER_ORDER = 5
KEY = "report-bench-key"
DAY = date(2026, 1, 15)


@dataclass
class Latency:
    samples: list[float]

    def line(self) -> str:
        ms = sorted(s * 1000 for s in self.samples)
        p95 = ms[int(len(ms) * 0.95) - 1] if len(ms) >= 20 else ms[-1]
        return (
            f"{len(ms)} calls, p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
            f"max {ms[-1]:.1f} ms"
        )


def order_doc(n: int, paid: datetime) -> dict[str, Any]:
    items = [
        {
            "id": 1,
            "productId": n % 500,
            "name": f"велосипед_{n % 500}",
            "price": 50_000,
            "quantity": 2,
        },
        {
            "id": 2,
            "productId": 1000 + n % 50,
            "name": f"звонок_{n % 50}",
            "price": 900,
            "quantity": UNITS_PER_ORDER - 2,
        },
    ]
    steps = ("PAID", "IN_PROGRESS", "CONFIRMED")
    history = [
        {"at": paid + timedelta(seconds=i), "status": s, "by": "bench"} for i, s in enumerate(steps)
    ]
    return {
        "_id": str(uuid.uuid4()),
        "kind": "GOODS",
        "username": f"user{n % 5000}",
        "status": "CONFIRMED",
        "version": 3,
        "items": items,
        "total": 102_700,
        "currency": "RUB",
        "createdAt": paid,
        "updatedAt": paid,
        "history": history,
    }


async def fill(mongo_url: str, database: str, orders: int) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    step = 86_000 / max(orders, 1)
    try:
        for first in range(0, orders, 500):
            batch = [
                order_doc(n, start + timedelta(seconds=n * step))
                for n in range(first, min(first + 500, orders))
            ]
            await client[database].orders.insert_many(batch, ordered=False)
    finally:
        await client.close()


async def customer_session(http: aiohttp.ClientSession, auth_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    user = {
        "username": f"bench_{tag}",
        "firstName": "Анна",
        "lastName": "Тестова",
        "email": f"bench.{tag}@example.com",
        "phone": f"+7916{int(tag, 16) % 10**7:07d}",
        "password": "bench-pass-123",
    }
    async with http.post(f"{auth_url}/register", json=user) as resp:
        resp.raise_for_status()
    login = {"username": user["username"], "password": user["password"]}
    async with http.post(f"{auth_url}/login", json=login) as resp:
        resp.raise_for_status()


async def timed_get(http: aiohttp.ClientSession, url: str) -> float:
    began = time.perf_counter()
    async with http.get(url) as resp:
        await resp.read()
        resp.raise_for_status()
    return time.perf_counter() - began


async def run_report(http: aiohttp.ClientSession, order_url: str) -> tuple[dict[str, Any], Latency]:
    """Start the report and call the edge until it is done; its status and the latencies."""
    headers = {"X-Api-Key": KEY}
    async with http.post(
        f"{order_url}/reports", json={"date": DAY.isoformat()}, headers=headers
    ) as r:
        report_id = (await r.json())["reportId"]
    samples: list[float] = []
    while True:
        samples.append(await timed_get(http, f"{order_url}/orders"))
        async with http.get(f"{order_url}/reports/{report_id}", headers=headers) as r:
            status = await r.json()
        if status["status"] != "RUNNING":
            return status, Latency(samples)


def start(name: str, module: str, env: dict[str, str], logs: Path) -> ServiceProcess:
    proc = ServiceProcess(
        name, module, free_port(), {**env, "SAGASHOP_SERVICE_NAME": name}, logs / f"{name}.log"
    )
    proc.start()
    return proc


async def report_bench(units: int) -> int:
    state = Path(tempfile.mkdtemp(prefix="sagashop-report-bench-"))
    infra = EmbeddedInfra.create(state)
    await infra.start()
    procs: list[ServiceProcess] = []
    try:
        env = {
            "SAGASHOP_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
            "SAGASHOP_MONGO_URL": infra.mongo_url,
            "SAGASHOP_LOG_JSON": "false",
        }
        auth = start("auth_svc", "auth_svc", env, state)
        procs.append(auth)
        order_env = {
            **env,
            "SAGASHOP_AUTH_URL": auth.url,
            "SAGASHOP_REPORT_API_KEYS": KEY,
            "SAGASHOP_REPORT_DIR": str(state / "reports"),
        }
        order = start("order_svc", "order_svc", order_env, state)
        procs.append(order)
        await asyncio.gather(auth.wait_ready(), order.wait_ready())
        orders = units // UNITS_PER_ORDER
        print(f"report-bench: inserting {orders:,} confirmed orders ({units:,} units) ...")
        began = time.perf_counter()
        await fill(infra.mongo_url, "order_svc", orders)
        print(f"  inserted in {time.perf_counter() - began:.1f} s")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await customer_session(http, auth.url)
            rest = Latency([await timed_get(http, f"{order.url}/orders") for _ in range(200)])
            began = time.perf_counter()
            status, during = await run_report(http, order.url)
            wall = time.perf_counter() - began
        print_result(status, wall, rest, during, state)
        return 0 if status["status"] == "DONE" and status["units"] == units else 1
    finally:
        for proc in procs:
            proc.kill()
        infra.stop()


def print_result(
    status: dict[str, Any], wall: float, rest: Latency, during: Latency, state: Path
) -> None:
    created = datetime.fromisoformat(status["createdAt"])
    finished = datetime.fromisoformat(status.get("finishedAt") or status["createdAt"])
    seconds = (finished - created).total_seconds()
    print(
        f"  report {status['reportId']}: {status['status']}, {status['units']:,} units, "
        f"{status['orders']:,} orders"
    )
    print(
        f"  written in {seconds:.1f} s (start to DONE; {wall:.1f} s as the caller saw it): "
        f"{status['units'] / max(seconds, 1e-9):,.0f} units/s"
    )
    print(f"  GET /orders at rest:          {rest.line()}")
    print(f"  GET /orders while it is written: {during.line()}")
    print(f"  files and logs under {state}")
