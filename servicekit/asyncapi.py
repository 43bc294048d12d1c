"""An AsyncAPI 3.0 document of the Kafka topics, made from the topic registry
(schemas.topics) and the message models (schemas.registry): each topic a channel, its model
the message (payload = the model's JSON schema, headers = the envelope), and who sends and who
receives it as operations. An edge serves the part its service takes part in at
`/asyncapi.json`; `sagashop docs` writes the whole one to docs/asyncapi.json."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic.json_schema import models_json_schema

from schemas import topics
from schemas.envelope import Envelope
from schemas.registry import TOPIC_MODELS
from schemas.topics import Topic

DESCRIPTION = (
    "sagashop's Kafka topics. Bodies are JSON (the seeds' field names); the envelope travels "
    "in Kafka headers. A message that fails validation or keeps failing goes to "
    "`<topic>.dlq` with the same body and the reason in its headers."
)


def senders(topic: Topic) -> list[str]:
    return [p.strip() for p in topic.producer.split(",")]


def takes_part(service: str, topic: Topic) -> bool:
    return service in senders(topic) or service in topic.consumers


def document(service: str | None = None) -> dict[str, Any]:
    """The whole document, or only the topics `service` sends or receives."""
    chosen = [t for t in topics.ALL if service is None or takes_part(service, t)]
    models = sorted({TOPIC_MODELS[t.name] for t in chosen}, key=lambda m: m.__name__)
    keyed: list[tuple[Any, Literal["serialization"]]] = [(m, "serialization") for m in models]
    keyed.append((Envelope, "serialization"))
    _, defs = models_json_schema(keyed, by_alias=True, ref_template="#/components/schemas/{model}")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in chosen:
        key, model = _key(topic.name), TOPIC_MODELS[topic.name].__name__
        channels[key] = {
            "address": topic.name,
            "description": f"{topic.doc} (key: {topic.key}; dead letters: {topic.dlq})",
            "messages": {model: {"$ref": f"#/components/messages/{model}"}},
        }
        ref = {"$ref": f"#/channels/{key}/messages/{model}"}
        parties = [("send", p) for p in senders(topic)] + [("receive", c) for c in topic.consumers]
        for action, who in parties:
            if service is None or who == service:
                operations[_key(f"{who}.{action}.{topic.name}")] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{key}"},
                    "messages": [ref],
                    "x-service": who,
                }
    messages = {
        m.__name__: {
            "name": m.__name__,
            "title": m.__name__,
            "summary": (m.__doc__ or m.__name__).strip().split("\n")[0],
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/Envelope"},
            "payload": {"$ref": f"#/components/schemas/{m.__name__}"},
        }
        for m in models
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"sagashop {service or 'topics'}",
            "version": "1",
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": defs.get("$defs", {})},
    }


def _key(text: str) -> str:
    """AsyncAPI's keys allow letters, digits, `_` and `-` only."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def render() -> str:
    """The whole document as the committed docs/asyncapi.json holds it."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path
