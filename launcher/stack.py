"""The whole system on one machine: infrastructure (embedded or external), every service
package that exists as its own process, a supervisor that restarts a process that dies, and
`.sagashop/stack.json` describing it all for scripts and tools."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from launcher.embedded import EmbeddedInfra, create_topics, free_ports
from launcher.processes import ROOT, ServiceProcess
from schemas import topics
from servicekit.runner import EXIT_PERMANENT

log = logging.getLogger("sagashop")

# start order: what others call first (auth answers /auth for every edge)
SERVICE_PACKAGES = (
    "auth_svc",
    "billing_svc",
    "notification_svc",
    "store_svc",
    "delivery_svc",
    "payment_svc",
    "order_svc",
    "orchestra",
)


# the shop's pages: a client of every edge (no broker, no database), started last; people open
# it, so it gets a fixed port when it is free (SAGASHOP_WEB_PORT chooses another)
WEB_FRONT = "web_front"
DEFAULT_WEB_PORT = 8000

# neighbour systems' simulators the launcher runs beside the services: name -> module
SIMULATORS = {
    "bank_sim": "payment_svc.bank_sim",
    # the SMTP server notification_svc sends e-mail to (.eml files under sent/mail/)
    "mail_sim": "notification_svc.smtp_catcher",
    "sms_sim": "notification_svc.sms_gateway",
    # the warehouse's staff picking the orders (drives store_svc's picking cases)
    "warehouse_sim": "store_svc.warehouse_sim",
    # the courier companies' API: quotes, bookings, tracking events sent to delivery's webhook
    "carrier_sim": "delivery_svc.carrier_sim",
    # the pickup points' counters: customers come with their SMS code (or never come)
    "pickup_sim": "delivery_svc.pickup_sim",
}


def home() -> Path:
    return Path(os.environ.get("SAGASHOP_HOME", ROOT / ".sagashop"))


class StateBusy(RuntimeError):
    """Another run holds the state directory (its database and broker files are live)."""


@contextlib.contextmanager
def fresh_state(state: Path, what: str) -> Iterator[Path]:
    """Hold `state` for one run and start it empty: a lock file beside it (released when the
    process ends, however it ends) keeps a second run from wiping a live run's database and
    broker files."""
    state.parent.mkdir(parents=True, exist_ok=True)
    with (state.parent / f"{state.name}.lock").open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateBusy(
                f"another {what} is running on {state}; wait for it to end (or stop it with Ctrl-C)"
            ) from None
        shutil.rmtree(state, ignore_errors=True)
        yield state


def stack_file(state: Path | None = None) -> Path:
    return (state or home()) / "stack.json"


def available_services() -> list[str]:
    """Service packages that can run (`python -m <pkg>`), in start order."""
    return [p for p in SERVICE_PACKAGES if (ROOT / p / "__main__.py").exists()]


def available_simulators() -> dict[str, str]:
    return {
        name: module
        for name, module in SIMULATORS.items()
        if (ROOT / (module.replace(".", "/") + ".py")).exists()
    }


def web_front_available() -> bool:
    return (ROOT / WEB_FRONT / "__main__.py").exists()


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def web_port(spare: int) -> int:
    """SAGASHOP_WEB_PORT when set; else 8000 when free (an address people can remember), else
    `spare`, a free port picked with the stack's others (a second stack, e.g. a test run beside
    `make up`)."""
    if chosen := os.environ.get("SAGASHOP_WEB_PORT"):
        return int(chosen)
    return DEFAULT_WEB_PORT if port_is_free(DEFAULT_WEB_PORT) else spare


def parse_replicas(spec: str | None, known: list[str] | None = None) -> dict[str, int]:
    """`orchestra=2,store_svc=3` -> {"orchestra": 2, "store_svc": 3}; names outside `known`
    (when given) are refused."""
    counts: dict[str, int] = {}
    for item in filter(None, (spec or "").split(",")):
        name, _, count = item.strip().partition("=")
        if not (count.isascii() and count.isdigit() and 1 <= int(count) <= 16):
            raise ValueError(f"--replicas {item!r}: want <service>=<1..16>")
        counts[name.strip()] = int(count)
    if known is not None and (unknown := sorted(set(counts) - set(known))):
        raise ValueError(f"--replicas names no service that runs here: {', '.join(unknown)}")
    return counts


def url_env_name(service: str) -> str:
    """`auth_svc` -> SAGASHOP_AUTH_URL, `bank_sim` -> SAGASHOP_BANK_URL."""
    return f"SAGASHOP_{service.removesuffix('_svc').removesuffix('_sim').upper()}_URL"


def read_stack(state: Path | None = None) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(stack_file(state).read_text())
        return data
    except (OSError, ValueError):
        return None


def pid_alive(pid: int | None) -> bool:
    """Whether `pid` still runs. An exited process nobody has reaped yet (a zombie: the child
    of a SIGKILLed launcher, until init reaps it) does not run."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc here: the signal check is all there is
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


class Stack:
    def __init__(
        self,
        state: Path,
        services: list[str] | None = None,
        external: bool = False,
        extra_env: dict[str, str] | None = None,
        web: bool = True,
        replicas: dict[str, int] | None = None,
    ) -> None:
        self.state = state
        self.names = services if services is not None else available_services()
        # a service run as several processes: its replicas `<name>.1`..`<name>.<n>` share its
        # database and consumer group; `<name>` is then a round-robin in front of them
        self.replicas = {n: k for n, k in (replicas or {}).items() if k > 1}
        if unknown := sorted(set(self.replicas) - set(self.names)):
            raise ValueError(f"--replicas names no service that runs here: {', '.join(unknown)}")
        # partitions of every topic: as set, or a real cluster's default; the embedded broker,
        # whose topics live in memory for one run, gets as many as the most replicas of a
        # service (one when each runs as one process): every partition is scanned again at
        # each look of a parked fetch, the embedded broker's main idle cost
        # (docs/embedded-broker.md), and a partition beyond a group's members buys nothing
        self.partitions = int(
            os.environ.get("SAGASHOP_TOPIC_PARTITIONS")
            or (topics.PARTITIONS if external else max(self.replicas.values(), default=1))
        )
        if crowded := [n for n, k in self.replicas.items() if k > self.partitions]:
            log.warning(
                "%s: more replicas than the %d partitions of a topic; the extra ones only serve "
                "their edge and stand by (SAGASHOP_TOPIC_PARTITIONS raises the count)",
                ", ".join(crowded),
                self.partitions,
            )
        self.web = web and web_front_available()
        self.external = external
        self.extra_env = extra_env or {}
        self.infra: EmbeddedInfra | None = None
        self.kafka = os.environ.get("SAGASHOP_KAFKA_BOOTSTRAP", "")
        self.mongo = os.environ.get("SAGASHOP_MONGO_URL", "")
        self.procs: dict[str, ServiceProcess] = {}
        self.expected_down: set[str] = set()
        self.status = "starting"
        # fresh per run: the shop's token for charges and refunds (payment_svc and the bank
        # only), and the operator's for the bank's config and ledger (chaos and bench use it)
        self.bank_client_token = secrets.token_hex(32)
        self.bank_admin_token = secrets.token_hex(32)

    async def start(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        if self.external:
            if not (self.kafka and self.mongo):
                raise RuntimeError(
                    "--external needs SAGASHOP_KAFKA_BOOTSTRAP and SAGASHOP_MONGO_URL"
                )
            await create_topics(self.kafka)
        else:
            self.infra = EmbeddedInfra.create(self.state, self.partitions)
            await self.infra.start()
            self.kafka, self.mongo = self.infra.kafka_bootstrap, self.infra.mongo_url
        sims = available_simulators()
        names = [*sims, *self.names]
        copies = [r for n in self.replicas for r in self.replica_names(n)]
        *picked, smtp_port, spare_web_port = free_ports(len(names) + len(copies) + 2)
        ports = dict(zip([*names, *copies], picked, strict=True))
        env = {
            "SAGASHOP_KAFKA_BOOTSTRAP": self.kafka,
            "SAGASHOP_MONGO_URL": self.mongo,
            "SAGASHOP_TOPIC_PARTITIONS": str(self.partitions),
            **{url_env_name(n): f"http://127.0.0.1:{ports[n]}" for n in names},
            "SAGASHOP_BANK_STATE": str(self.state / "bank-ledger.jsonl"),
            "SAGASHOP_CARRIER_STATE": str(self.state / "carrier-sim.jsonl"),
            # delivery_svc's courier quotes come from the carriers' API (carrier_sim)
            "SAGASHOP_COURIER_ADAPTER": "http",
            "SAGASHOP_OUTBOX_DIR": str(self.state / "sent"),
            "SAGASHOP_REPORT_DIR": str(self.state / "reports"),
            # notification_svc speaks SMTP and the SMS gateway's HTTP API to the simulators,
            # which keep what they accepted under sent/ (notification_svc.kept_mail reads it)
            "SAGASHOP_EMAIL_SENDER": "smtp",
            "SAGASHOP_SMS_GATEWAY": "http",
            "SAGASHOP_SMTP_PORT": str(smtp_port),
            "SAGASHOP_MAIL_DIR": str(self.state / "sent" / "mail"),
            "SAGASHOP_SMS_STATE": str(self.state / "sent" / "sms-gateway.jsonl"),
            "SAGASHOP_SMS_WEBHOOK_SECRET": secrets.token_hex(32),
            # the bank signs its QR callbacks with it and payment_svc checks them: fresh per run
            "SAGASHOP_BANK_WEBHOOK_SECRET": secrets.token_hex(32),
            # web_front signs its forms' CSRF tokens with it: a restarted front accepts them
            "SAGASHOP_WEB_SECRET": secrets.token_hex(32),
            # after payment (issue 13): the warehouse staff's and the pickup counters' service
            # credentials, the shop's key at the carriers' API and the carriers' webhook secret
            "SAGASHOP_WAREHOUSE_TOKEN": secrets.token_hex(32),
            "SAGASHOP_PICKUP_TOKEN": secrets.token_hex(32),
            "SAGASHOP_CARRIER_TOKEN": secrets.token_hex(32),
            "SAGASHOP_CARRIER_WEBHOOK_SECRET": secrets.token_hex(32),
            # order_svc's credential for creating holds in store_svc and delivery_svc (issue 15)
            "SAGASHOP_HOLDS_TOKEN": secrets.token_hex(32),
            # web_front's credential at auth_svc: only then is its visitor's address believed
            "SAGASHOP_FRONT_TOKEN": secrets.token_hex(32),
            **self.extra_env,
        }
        if self.web:
            ports[WEB_FRONT] = web_port(spare_web_port)
        for name in ports:
            base = name.split(".")[0]  # `orchestra.2` is a replica of orchestra
            module, log_name = sims.get(name, base), name  # a service, simulator or the front
            own = self.bank_tokens_of(base)
            if base != name:
                own |= {
                    "SAGASHOP_SERVICE_NAME": base,
                    "SAGASHOP_REPLICAS": str(self.replicas[base]),
                }
            elif name in self.replicas:
                module, log_name = "launcher.balancer", f"{name}.balancer"
                targets = ",".join(f"http://127.0.0.1:{ports[r]}" for r in self.replica_names(name))
                own = {"SAGASHOP_BALANCE_TARGETS": targets}
            self.procs[name] = ServiceProcess(
                name,
                module,
                ports[name],
                {**env, **own},
                self.state / "logs" / f"{log_name}.log",
            )
        self.write()
        for proc in self.procs.values():
            proc.start()
        await asyncio.gather(*(p.wait_ready(120) for p in self.procs.values()))
        self.status = "ready"
        self.write()

    def replica_names(self, name: str) -> list[str]:
        """The processes of a service run with --replicas (none when it runs as one)."""
        return [f"{name}.{i}" for i in range(1, self.replicas.get(name, 0) + 1)]

    def bank_tokens_of(self, name: str) -> dict[str, str]:
        """The bank's tokens a process is given: none but the shop's payments and the bank."""
        tokens = {}
        if name in ("payment_svc", "bank_sim"):
            tokens["SAGASHOP_BANK_CLIENT_TOKEN"] = self.bank_client_token
        if name == "bank_sim":
            tokens["SAGASHOP_BANK_ADMIN_TOKEN"] = self.bank_admin_token
        return tokens

    def bank_admin_headers(self) -> dict[str, str]:
        """What a call to the bank's `/config` or `/ledger` carries."""
        return {"Authorization": f"Bearer {self.bank_admin_token}"}

    async def supervise(self, stop: asyncio.Event) -> None:
        """Restart any service process that died; one that keeps dying waits a little longer
        each time (never blocking the restart of the others)."""
        due: dict[str, float] = {}
        while not stop.is_set():
            now = time.monotonic()
            for name, proc in self.procs.items():
                if proc.alive() or name in self.expected_down:
                    due.pop(name, None)
                    continue
                if name not in due:
                    code = proc.proc.returncode if proc.proc else None
                    if code == EXIT_PERMANENT:  # it said why in its log; a restart cannot help
                        log.error("%s cannot start (see its log); not restarted", name)
                        self.expected_down.add(name)
                        continue
                    log.warning("%s exited (code %s); restarting", name, code)
                    due[name] = now + min(0.5 * (proc.restarts % 6), 3.0)
                if now >= due[name]:
                    proc.restarts += 1
                    proc.start()
                    del due[name]
                    self.write()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)

    async def stop(self) -> None:
        self.status = "stopping"
        self.expected_down.update(self.procs)
        self.write()
        await asyncio.gather(
            *(asyncio.to_thread(p.terminate) for p in reversed(list(self.procs.values())))
        )
        if self.infra is not None:
            self.infra.stop()
        self.status = "stopped"
        self.write()

    @property
    def urls(self) -> dict[str, str]:
        return {name: proc.url for name, proc in self.procs.items()}

    def describe(self) -> dict[str, Any]:
        infra = {}
        if self.infra is not None:
            infra = {
                "kafka": {"pid": self.infra.kafka.pid, "log": str(self.infra.kafka.log_path)},
                "mongo": {"pid": self.infra.mongo.pid, "log": str(self.infra.mongo.log_path)},
            }
        return {
            "kafka": self.kafka,
            "mongo": self.mongo,
            "state": self.status,
            "launcher_pid": os.getpid(),
            "embedded": not self.external,
            "infra": infra,
            "services": {
                n: self._process(
                    p, {r: self._process(self.procs[r]) for r in self.replica_names(n)}
                )
                for n, p in self.procs.items()
                if n != WEB_FRONT and "." not in n
            },
            "web": self._process(self.procs[WEB_FRONT]) if WEB_FRONT in self.procs else None,
        }

    @staticmethod
    def _process(proc: ServiceProcess, replicas: dict[str, Any] | None = None) -> dict[str, Any]:
        """A process; a service run with --replicas: its round-robin, and `replicas`."""
        return {
            "url": proc.url,
            "pid": proc.pid,
            "log": str(proc.log_path),
            "restarts": proc.restarts,
            **({"replicas": replicas} if replicas else {}),
        }

    def write(self) -> None:
        path = stack_file(self.state)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.describe(), indent=2))
        tmp.replace(path)
