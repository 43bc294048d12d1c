"""`sagashop up --replicas`: the spec it takes, and the round-robin in front of a service's
replicas (real sockets on loopback: two small aiohttp servers stand for the replicas)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from launcher.balancer import app
from launcher.embedded import free_port
from launcher.stack import Stack, parse_replicas
from schemas import topics


def test_replicas_spec_gives_a_count_per_service_and_refuses_what_is_not_one() -> None:
    assert parse_replicas("orchestra=2, store_svc=3") == {"orchestra": 2, "store_svc": 3}
    assert parse_replicas(None) == {}
    for bad in ("orchestra", "orchestra=0", "orchestra=two", "orchestra=²", "orchestra=17"):
        with pytest.raises(ValueError, match=re.escape("want <service>=<1..16>")):
            parse_replicas(bad)


def test_replicas_of_a_service_that_does_not_run_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="no service that runs here: nosuch_svc"):
        Stack(tmp_path, services=["auth_svc"], replicas={"nosuch_svc": 2})
    stack = Stack(tmp_path, services=["auth_svc", "orchestra"], replicas={"orchestra": 2})
    assert stack.replica_names("orchestra") == ["orchestra.1", "orchestra.2"]
    assert stack.replica_names("auth_svc") == []


def test_embedded_topics_get_as_many_partitions_as_the_most_replicas_of_a_service(
    tmp_path, monkeypatch
) -> None:
    """Every partition costs the embedded broker a scan at each look of a parked fetch (its
    idle CPU): one process per service needs one; a real cluster keeps the registry's count,
    and SAGASHOP_TOPIC_PARTITIONS wins over both."""
    monkeypatch.delenv("SAGASHOP_TOPIC_PARTITIONS", raising=False)
    services = ["auth_svc", "orchestra", "store_svc"]
    assert Stack(tmp_path, services=services).partitions == 1
    two = Stack(tmp_path, services=services, replicas={"orchestra": 2, "store_svc": 3})
    assert two.partitions == 3
    assert Stack(tmp_path, services=services, external=True).partitions == topics.PARTITIONS
    monkeypatch.setenv("SAGASHOP_TOPIC_PARTITIONS", "6")
    assert Stack(tmp_path, services=services).partitions == 6


async def serve(application: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(application)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def replica(name: str) -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        resp = web.json_response({"replica": name, "path": request.path_qs, "body": body})
        resp.set_cookie("a", "1")
        resp.set_cookie("b", "2")
        return resp

    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", answer)
    return application


@pytest.fixture
async def front() -> AsyncIterator[tuple[str, list[int], list[web.AppRunner]]]:
    ports = [free_port(), free_port(), free_port()]  # the third one never listens
    runners = [await serve(replica(f"r{i}"), p) for i, p in enumerate(ports[:2])]
    front_port = free_port()
    runners.append(await serve(app([f"http://127.0.0.1:{p}" for p in ports]), front_port))
    yield f"http://127.0.0.1:{front_port}", ports, runners
    for runner in reversed(runners):
        await runner.cleanup()


async def test_requests_go_round_robin_and_skip_a_replica_that_is_down(front) -> None:
    url, _, _ = front
    seen: Counter[str] = Counter()
    async with aiohttp.ClientSession() as http:
        for n in range(12):
            async with http.post(f"{url}/orders?page={n}", json={"n": n}) as resp:
                assert resp.status == 200
                answer = await resp.json()
                assert answer["path"] == f"/orders?page={n}" and answer["body"] == {"n": n}
                assert len(resp.headers.getall("Set-Cookie")) == 2
                seen[answer["replica"]] += 1
    assert set(seen) == {"r0", "r1"} and min(seen.values()) >= 4


async def test_no_replica_answering_is_a_503_with_an_error_message(front) -> None:
    url, _, runners = front
    for runner in runners[:2]:
        await runner.cleanup()
    async with aiohttp.ClientSession() as http, http.get(f"{url}/ready") as resp:
        assert resp.status == 503
        assert "errorMessage" in await resp.json()
