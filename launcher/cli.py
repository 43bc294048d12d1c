"""`sagashop` — run, stop and inspect the whole system on this machine."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from launcher.processes import ROOT, ready_status
from launcher.stack import (
    Stack,
    StateBusy,
    available_services,
    home,
    parse_replicas,
    pid_alive,
    read_stack,
    stack_file,
)
from servicekit.errors import DomainError

log = logging.getLogger("sagashop")
Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Command] = {}


def command(fn: Command) -> Command:
    COMMANDS[fn.__name__.removeprefix("cmd_").replace("_", "-")] = fn
    return fn


T = TypeVar("T")


class Stopped(Exception):
    """SIGINT or SIGTERM ended a run early; what it started has been stopped."""


def run_until_signalled(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main), where SIGINT or SIGTERM cancels main, so its `finally` blocks stop
    the processes and servers it started (a bare SIGTERM, or a SIGINT that a background shell
    ignores, would otherwise leave them running)."""

    async def guarded() -> T:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            raise Stopped from None

    return asyncio.run(guarded())


def print_urls(stack: dict[str, object]) -> None:
    """The shop's address first: it is the one a person opens."""
    if web := stack.get("web"):
        print(f"Магазин: {dict(web)['url']}   (open it in a browser)")  # type: ignore[call-overload]
    print(f"kafka  {stack['kafka']}")
    print(f"mongo  {stack['mongo']}")
    for name, svc in dict(stack["services"]).items():  # type: ignore[call-overload]
        print(f"{name:<17} {svc['url']}  (pid {svc['pid']})")
        for replica, one in svc.get("replicas", {}).items():
            print(f"  {replica:<15} {one['url']}  (pid {one['pid']})")


def running_launcher() -> int | None:
    stack = read_stack()
    if (
        stack
        and stack.get("state") in ("starting", "ready")
        and pid_alive(stack.get("launcher_pid"))
    ):
        return int(stack["launcher_pid"])
    return None


@command
def cmd_up(args: argparse.Namespace) -> int:
    """Start infrastructure and every service; foreground unless --detach."""
    if (pid := running_launcher()) is not None:
        print(f"sagashop is already running (launcher pid {pid}); `sagashop down` stops it.")
        stack = read_stack()
        if stack:
            print_urls(stack)
        return 0
    try:
        parse_replicas(args.replicas)
    except ValueError as exc:
        print(f"sagashop up: {exc}", file=sys.stderr)
        return 2
    if args.detach:
        return _up_detached(args)
    return asyncio.run(_up_foreground(args))


async def _up_foreground(args: argparse.Namespace) -> int:
    only = args.only.split(",") if args.only else None
    try:
        stack = Stack(
            home(), services=only, external=args.external, replicas=parse_replicas(args.replicas)
        )
    except ValueError as exc:
        print(f"sagashop up: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stack.start()
    except Exception as exc:
        print(f"sagashop up failed: {exc}", file=sys.stderr)
        await stack.stop()
        return 1
    print_urls(stack.describe())
    print("all services ready; Ctrl-C (or `sagashop down`) stops everything", flush=True)
    await stack.supervise(stop)
    print("stopping...", flush=True)
    await stack.stop()
    print("stopped", flush=True)
    return 0


def _up_detached(args: argparse.Namespace) -> int:
    state = home()
    (state / "logs").mkdir(parents=True, exist_ok=True)
    stack_file(state).unlink(missing_ok=True)
    log_path = state / "logs" / "launcher.log"
    argv = [sys.executable, "-m", "launcher.cli", "up"]
    argv += ["--external"] if args.external else []
    argv += ["--only", args.only] if args.only else []
    argv += ["--replicas", args.replicas] if args.replicas else []
    with log_path.open("ab") as out:
        child = subprocess.Popen(  # noqa: S603 - our own argv (sys.executable, tail), no shell
            argv,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            print(
                f"sagashop up failed; {log_path}:\n" + log_path.read_text()[-3000:], file=sys.stderr
            )
            return 1
        stack = read_stack()
        if stack and stack.get("state") == "ready" and stack.get("launcher_pid") == child.pid:
            print_urls(stack)
            print(f"sagashop is running in the background (launcher pid {child.pid}).")
            print(f"stack: {stack_file(state)}  logs: {state / 'logs'}")
            print("stop it with: make down   (or: .venv/bin/sagashop down)")
            return 0
        time.sleep(0.3)
    print(f"sagashop did not become ready in {args.timeout}s; see {log_path}", file=sys.stderr)
    child.terminate()
    return 1


@command
def cmd_down(args: argparse.Namespace) -> int:
    """Stop the running system (the launcher stops services, then infrastructure)."""
    stack = read_stack()
    if not stack:
        print("sagashop is not running")
        return 0
    pid = stack.get("launcher_pid")
    if pid and pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    # whatever a dead launcher left behind
    leftovers = [s.get("pid") for s in stack.get("services", {}).values()]
    leftovers += [r.get("pid") for s in stack["services"].values() for r in replicas_of(s)]
    leftovers += [stack["web"].get("pid")] if stack.get("web") else []
    leftovers += [i.get("pid") for i in stack.get("infra", {}).values()]
    for left in leftovers:
        if left and pid_alive(left):
            with contextlib.suppress(ProcessLookupError):
                os.kill(left, signal.SIGKILL)
    stack_file().unlink(missing_ok=True)
    print("sagashop stopped")
    return 0


def replicas_of(service: dict[str, Any]) -> list[dict[str, Any]]:
    return list(service.get("replicas", {}).values())


@command
def cmd_status(args: argparse.Namespace) -> int:
    """Each process and its /ready."""
    stack = read_stack()
    if not stack or not pid_alive(stack.get("launcher_pid")):
        print("sagashop is not running")
        return 1
    print(f"launcher pid {stack['launcher_pid']}  state {stack['state']}")
    print(f"kafka {stack['kafka']}   mongo {stack['mongo']}")
    processes = {}
    for name, svc in stack["services"].items():
        processes[name] = svc
        processes.update({f"  {r}": one for r, one in svc.get("replicas", {}).items()})
    processes.update({"web_front": stack["web"]} if stack.get("web") else {})
    answers = asyncio.run(_ready_all(processes))
    ok = True
    for name, svc in processes.items():
        alive = pid_alive(svc["pid"])
        status = answers[name]
        ok &= alive and status == "ready"
        print(
            f"{name:<17} pid {svc['pid']:<8} {'up' if alive else 'DOWN':<5} {status:<10} "
            f"{svc['url']}  restarts {svc.get('restarts', 0)}"
        )
    return 0 if ok else 1


async def _ready_all(services: dict[str, dict[str, object]]) -> dict[str, str]:
    async def one(url: object) -> str:
        status = await ready_status(str(url), timeout=3)
        return {None: "no-answer", 200: "ready"}.get(status, f"not-ready({status})")

    names = list(services)
    results = await asyncio.gather(*(one(services[n]["url"]) for n in names))
    return dict(zip(names, results, strict=True))


@command
def cmd_logs(args: argparse.Namespace) -> int:
    """Print (or follow) the log of a service, `kafka`, `mongo` or `launcher`."""
    path = home() / "logs" / f"{args.service}.log"
    if not path.exists():
        known = sorted(p.stem for p in (home() / "logs").glob("*.log"))
        print(f"no log for {args.service!r}; known: {', '.join(known) or 'none'}", file=sys.stderr)
        return 1
    argv = ["tail", "-n", str(args.lines)] + (["-F"] if args.follow else []) + [str(path)]
    with contextlib.suppress(KeyboardInterrupt):
        return subprocess.call(argv)  # noqa: S603 - our own argv (sys.executable, tail), no shell
    return 0


@command
def cmd_mail(args: argparse.Namespace) -> int:
    """List the e-mails the shop sent (the local SMTP server kept them), or show one."""
    from launcher.mail import show

    print(show(home() / "sent", args.which, args.to))
    return 0


@command
def cmd_report_bench(args: argparse.Namespace) -> int:
    """Measure writing a daily report (003) over N sold units while the order edge serves."""
    from trials.bench.daily_report import report_bench

    for noisy in ("aiokafka", "launcher", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return run_until_signalled(report_bench(args.units))


def admin_password(given: str | None) -> str | None:
    """--password, else SAGASHOP_ADMIN_PASSWORD, else asked on the terminal (None without
    one: getpass would read an empty stdin and fail)."""
    given = given or os.environ.get("SAGASHOP_ADMIN_PASSWORD")
    if given or not sys.stdin.isatty():
        return given
    try:
        return getpass.getpass()
    except EOFError:
        return None


@command
def cmd_admin(args: argparse.Namespace) -> int:
    """`admin create`: create the first admin (or make an existing user an admin)."""
    from auth_svc.admin import create_admin_from_cli
    from auth_svc.settings import AuthSettings
    from schemas.auth import RegisterRequest

    stack = read_stack() or {}
    overrides = {
        k: v
        for k, v in (("mongo_url", stack.get("mongo")), ("kafka_bootstrap", stack.get("kafka")))
        if v
    }
    password = admin_password(args.password)
    if not password:
        print(
            "admin create: no password: give --password, set SAGASHOP_ADMIN_PASSWORD, "
            "or run it in a terminal to be asked",
            file=sys.stderr,
        )
        return 2
    req = RegisterRequest(
        username=args.username,
        first_name=args.first_name,
        last_name=args.last_name,
        email=args.email,
        phone=args.phone,
        password=password,
    )
    try:
        user = asyncio.run(create_admin_from_cli(AuthSettings(**overrides), req))
    except DomainError as exc:
        print(f"admin create failed: {exc.message}", file=sys.stderr)
        return 1
    print(f"admin {user.username} ({user.email}) has roles {', '.join(user.roles)}")
    return 0


@command
def cmd_seed_catalog(args: argparse.Namespace) -> int:
    """Publish a demo catalog and its stock through the neighbours' feeds."""
    from store_svc.seed import main as seed_main

    argv = ["--products", str(args.products), "--warehouses", str(args.warehouses)]
    argv += ["--seed", str(args.seed)]
    stack = read_stack() or {}  # none: SAGASHOP_KAFKA_BOOTSTRAP names an external broker
    if kafka := stack.get("kafka"):
        argv += ["--kafka", str(kafka)]
    if store := stack.get("services", {}).get("store_svc", {}).get("url"):
        argv += ["--store-url", str(store)]
    return seed_main(argv)


@command
def cmd_chaos(args: argparse.Namespace) -> int:
    """Run the system under load while killing its processes; check every invariant."""
    from trials.chaos.config import ChaosConfig
    from trials.chaos.report import print_report, write_report
    from trials.chaos.run import run_chaos

    try:
        replicas = parse_replicas(args.replicas, known=available_services())
    except ValueError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 2
    cfg = ChaosConfig(
        orders=args.orders,
        concurrency=args.concurrency,
        duration=args.duration,
        kill_interval=(args.kill_min, args.kill_max),
        seed=args.seed,
        services=args.services.split(",") if args.services else None,
        replicas=replicas,
        external=args.external,
        mongo_kill=not args.no_mongo_kill,
    )
    print(
        f"chaos: seed {cfg.seed}, {cfg.orders} orders, {cfg.concurrency} customers, "
        f"a kill every {cfg.kill_interval[0]}-{cfg.kill_interval[1]} s",
        flush=True,
    )
    try:
        report = run_until_signalled(run_chaos(cfg))
    except (StateBusy, Stopped) as exc:
        print(f"chaos: {str(exc) or 'stopped; everything it started is stopped'}", file=sys.stderr)
        return 2 if isinstance(exc, StateBusy) else 130
    path = write_report(report, home() / "chaos")
    print_report(report, path)
    return 0 if report.ok else 1


@command
def cmd_bench(args: argparse.Namespace) -> int:
    """Start the whole system, measure the raw infrastructure, then drive closed-loop load at
    several concurrency levels; report throughput, latency, CPU and the share of the limit."""
    from pathlib import Path

    from trials.bench.run import SCENARIOS, BenchConfig, run_bench

    chosen: dict[str, Any] = {
        "scenarios": SCENARIOS if args.scenario == "both" else (args.scenario,),
        "external": args.external,
        "out": Path(args.out) if args.out else home() / "bench",
    }
    if args.levels:
        chosen["levels"] = [int(n) for n in args.levels.split(",") if n.strip()]
    if args.fail_share is not None:
        chosen["fail_share"] = args.fail_share
    if args.seconds_per_level is not None:
        chosen["seconds_per_level"] = args.seconds_per_level or None
    if args.orders_per_level is not None:
        chosen["orders_per_level"] = args.orders_per_level
        if args.seconds_per_level is None:
            chosen["seconds_per_level"] = None  # only the order count bounds a level
    if args.probe_seconds is not None:
        chosen["probe_seconds"] = args.probe_seconds
    if args.idle_seconds is not None:
        chosen["idle_seconds"] = args.idle_seconds
    if args.replicas:
        counts = args.replicas.split(",")
        if not all(c.strip().isascii() and c.strip().isdigit() for c in counts):
            print("bench: --replicas wants counts such as 1,2", file=sys.stderr)
            return 2
        chosen["replicas"] = [int(c) for c in counts]
    cfg = BenchConfig.smoke_run(**chosen) if args.smoke else BenchConfig(**chosen)
    if (
        not cfg.levels
        or any(n < 1 for n in cfg.levels)
        or not 0 <= cfg.fail_share < 1
        or not (cfg.seconds_per_level or cfg.orders_per_level)
        or not cfg.replicas
        or not all(1 <= n <= 16 for n in cfg.replicas)
        or cfg.idle_seconds < 0
    ):
        print(
            "bench: levels >= 1, --fail-share in [0, 1), seconds or orders per level, "
            "--replicas counts in 1..16, --idle-seconds >= 0",
            file=sys.stderr,
        )
        return 2
    for noisy in ("aiokafka", "matplotlib"):  # their INFO lines would break the progress bar
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        report, _, _ = run_until_signalled(run_bench(cfg))
    except (StateBusy, Stopped) as exc:
        print(f"bench: {str(exc) or 'stopped; everything it started is stopped'}", file=sys.stderr)
        return 2 if isinstance(exc, StateBusy) else 130
    return 0 if report["ok"] else 1


@command
def cmd_docs(args: argparse.Namespace) -> int:
    """Rewrite what docs/ holds made from the code: asyncapi.json, the topics and the order
    state machines."""
    from launcher.docs import write_all

    for path in write_all(args.dir):
        print(f"wrote {path}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sagashop", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help=cmd_up.__doc__)
    up.add_argument(
        "--detach", action="store_true", help="run in the background, return when ready"
    )
    up.add_argument(
        "--external",
        action="store_true",
        help="use SAGASHOP_KAFKA_BOOTSTRAP / SAGASHOP_MONGO_URL instead of embedded",
    )
    up.add_argument("--timeout", type=float, default=240.0)
    up.add_argument("--only", help="comma list of service packages to run (default: all)")
    up.add_argument(
        "--replicas",
        help="processes per service, e.g. orchestra=2,store_svc=3 (one consumer group and "
        "database each; a round-robin on the service's address)",
    )
    sub.add_parser("down", help=cmd_down.__doc__)
    seed = sub.add_parser("seed-catalog", help=cmd_seed_catalog.__doc__)
    seed.add_argument("--products", type=int, default=1000)
    seed.add_argument("--warehouses", type=int, default=3)
    seed.add_argument("--seed", type=int, default=1)
    chaos = sub.add_parser("chaos", help=cmd_chaos.__doc__)
    chaos.add_argument("--orders", type=int, default=300)
    chaos.add_argument("--concurrency", type=int, default=12)
    chaos.add_argument("--duration", type=float, default=900.0, help="max seconds of load")
    chaos.add_argument("--kill-min", type=float, default=2.0, help="seconds between kills")
    chaos.add_argument("--kill-max", type=float, default=6.0)
    chaos.add_argument("--seed", type=int, default=42)
    chaos.add_argument("--services", help="comma list of services that may be killed")
    chaos.add_argument(
        "--replicas", help="processes per service, e.g. orchestra=2 (one replica is killed at once)"
    )
    chaos.add_argument("--external", action="store_true")
    chaos.add_argument("--no-mongo-kill", action="store_true")
    bench = sub.add_parser("bench", help=cmd_bench.__doc__)
    bench.add_argument("--levels", help="in-flight customers per level (default 1,4,16,64)")
    bench.add_argument(
        "--seconds-per-level", type=float, help="load time per level (default 30; 0: none)"
    )
    bench.add_argument("--orders-per-level", type=int, help="orders per level (and/or seconds)")
    bench.add_argument("--scenario", choices=["saga", "checkout", "both"], default="both")
    bench.add_argument("--fail-share", type=float, help="share of orders made to fail (0.1)")
    bench.add_argument("--external", action="store_true", help="SAGASHOP_KAFKA_BOOTSTRAP/MONGO_URL")
    bench.add_argument("--out", help="where the JSON and PNG go (default .sagashop/bench/)")
    bench.add_argument("--probe-seconds", type=float, help="per capacity probe (default 3)")
    bench.add_argument("--smoke", action="store_true", help="one low level, a few seconds")
    bench.add_argument(
        "--idle-seconds",
        type=float,
        help="CPU of every process with no customer, before the levels (default 30, smoke 5; "
        "0: skip)",
    )
    bench.add_argument(
        "--replicas",
        help="compare processes of every worker, e.g. 1,2: a whole run each, then the ratio "
        "and the busiest process at each level (default 1)",
    )
    admin = sub.add_parser("admin", help=cmd_admin.__doc__)
    admin.add_argument("action", choices=["create"])
    admin.add_argument("--username", required=True)
    admin.add_argument("--email", required=True)
    admin.add_argument("--phone", required=True)
    admin.add_argument("--first-name", default="Admin")
    admin.add_argument("--last-name", default="Admin")
    admin.add_argument("--password", help="or SAGASHOP_ADMIN_PASSWORD, or asked for")
    sub.add_parser("status", help=cmd_status.__doc__)
    logs = sub.add_parser("logs", help=cmd_logs.__doc__)
    logs.add_argument("service")
    logs.add_argument("-n", "--lines", type=int, default=100)
    logs.add_argument("-f", "--follow", action="store_true")
    mail = sub.add_parser("mail", help=cmd_mail.__doc__)
    mail.add_argument("which", nargs="?", help="the number `sagashop mail` lists, or a file name")
    mail.add_argument("--to", help="only e-mails to this address")
    report_bench = sub.add_parser("report-bench", help=cmd_report_bench.__doc__)
    report_bench.add_argument("--units", type=int, default=100_000)
    docs = sub.add_parser("docs", help=cmd_docs.__doc__)
    docs.add_argument("--dir", type=Path, default=ROOT / "docs")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
