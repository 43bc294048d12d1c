"""The AsyncAPI document (issue 17, "Also"): made from the topic registry and the message
models, every topic in it with the schema of its message, the committed docs/asyncapi.json
current, and each edge serving the topics its service sends or takes."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from launcher.processes import ROOT
from orchestra.app import build
from schemas import topics
from schemas.registry import TOPIC_MODELS
from servicekit import asyncapi
from servicekit.edge import build_edge

COMMITTED = ROOT / "docs" / "asyncapi.json"


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_the_committed_document_is_what_sagashop_docs_writes_today() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == asyncapi.render(), (
        "docs/asyncapi.json is stale: run `.venv/bin/sagashop docs`"
    )


def test_every_registry_topic_is_a_channel_with_the_schema_of_its_message() -> None:
    doc = json.loads(COMMITTED.read_text(encoding="utf-8"))
    by_address = {c["address"]: c for c in doc["channels"].values()}
    assert set(by_address) == {t.name for t in topics.ALL}
    for topic in topics.ALL:
        (message_ref,) = [m["$ref"] for m in by_address[topic.name]["messages"].values()]
        message = resolve(doc, message_ref)
        assert message["name"] == TOPIC_MODELS[topic.name].__name__
        payload = resolve(doc, message["payload"]["$ref"])
        wire_fields = {f.alias or n for n, f in TOPIC_MODELS[topic.name].model_fields.items()}
        assert set(payload["properties"]) == wire_fields, topic.name


def test_every_reference_in_the_document_resolves() -> None:
    doc = asyncapi.document()
    assert doc["asyncapi"] == "3.0.0"
    for ref in refs(doc):
        assert resolve(doc, ref) is not None, ref


def test_a_service_document_lists_only_what_it_sends_and_receives() -> None:
    doc = asyncapi.document("orchestra")
    actions = {
        (o["action"], resolve(doc, o["channel"]["$ref"])["address"])
        for o in doc["operations"].values()
    }
    assert ("receive", topics.ORDER_CONFIRMATION_REQUESTS.name) in actions
    assert ("send", topics.STORE_CONFIRMATIONS.name) in actions
    assert ("receive", topics.STORE_CONFIRMATIONS.name) not in actions
    assert topics.USER_REGISTERED.name not in {c["address"] for c in doc["channels"].values()}


async def test_an_edge_serves_its_service_document_beside_openapi() -> None:
    service = build()
    async with TestClient(TestServer(build_edge(service))) as client:
        resp = await client.get("/asyncapi.json")
        assert resp.status == 200
        assert await resp.json() == asyncapi.document("orchestra")
    await service.auth.close()
