"""docs/conventions.md as checks: what an edge's document and its answers must look like. Each
function returns the places that break a convention (empty: none), so one run names them all."""

from __future__ import annotations

import re
from typing import Any

# an answer's timestamp: ISO 8601 in UTC with `T` and `Z`
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
# what any spelling of a timestamp starts with (a date, then a time after `T` or a space)
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
# a property that holds a moment, by its name
TIME_NAMES = re.compile(r"(At|Time|deadline|timestamp|^at)$")
STATUS_KEYS = ("status", "state")
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# the failure spellings HTTP answers no longer use (Kafka messages keep the seed's errorMsg)
OLD_ERROR_KEYS = ("errorMsg", "paymentError", "error")
# where an answer quotes a Kafka message as it is (a notification's payload, a saga's request)
FROM_MESSAGES = re.compile(r"\.(payload|request)(\.|\[|$)")


def walk(value: Any, where: str = "") -> list[tuple[str, Any]]:
    """Every (path, value) in a JSON document, the document itself first."""
    found: list[tuple[str, Any]] = [(where, value)]
    if isinstance(value, dict):
        for k, v in value.items():
            found += walk(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += walk(v, f"{where}[{i}]")
    return found


def document_breaks(doc: dict[str, Any]) -> list[str]:
    """An OpenAPI document's errors not `{errorMessage}` (required), and properties named as
    moments not documented as `date-time` (or a date, or a time of day)."""
    broken = []
    error = doc["components"]["schemas"].get("Error", {})
    if error.get("required") != ["errorMessage"] or list(error.get("properties", ())) != [
        "errorMessage"
    ]:
        broken.append(f"components.schemas.Error: {error}")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, answer in op.get("responses", {}).items():
                if status[0] in "45":
                    schema = answer.get("content", {}).get("application/json", {}).get("schema")
                    if schema != {"$ref": "#/components/schemas/Error"}:
                        broken.append(f"{method} {path} {status}: {schema}")
    for where, value in walk(doc["components"]["schemas"]):
        if not isinstance(value, dict) or not isinstance(value.get("properties"), dict):
            continue
        for name, prop in value["properties"].items():
            if TIME_NAMES.search(name) and not _typed_as_time(prop):
                broken.append(f"{where}.{name}: {prop}")
    return broken


def _typed_as_time(prop: dict[str, Any]) -> bool:
    kinds = [prop, *prop.get("anyOf", ())]
    strings = [k for k in kinds if k.get("type") == "string"]
    if not strings:
        return any("$ref" in k for k in kinds)
    return all(k.get("format") in ("date-time", "date", "time") for k in strings)


def answer_breaks(body: Any) -> list[str]:
    """An answer's timestamps not ISO 8601 with `T` and `Z`, statuses not UPPER_SNAKE, and
    failure texts under an old name."""
    broken = []
    for where, value in walk(body):
        key = where.rsplit(".", 1)[-1]
        if isinstance(value, str) and LOOKS_LIKE_TIME.match(value) and not TIMESTAMP.match(value):
            broken.append(f"{where}: timestamp {value!r}")
        if key in STATUS_KEYS and isinstance(value, str) and not UPPER_SNAKE.match(value):
            broken.append(f"{where}: status {value!r}")
        if key in OLD_ERROR_KEYS and not FROM_MESSAGES.search(where):
            broken.append(f"{where}: a failure's text is errorMessage")
    return broken


def error_breaks(status: int, body: Any) -> list[str]:
    """An error answer that is not exactly `{"errorMessage": "<text>"}`."""
    if status < 400:
        return [f"{status}: an error answer was expected"]
    if not (isinstance(body, dict) and set(body) == {"errorMessage"}):
        return [f"{status}: {body!r} is not {{errorMessage}}"]
    return [] if isinstance(body["errorMessage"], str) and body["errorMessage"] else [str(body)]
