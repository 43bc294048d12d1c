"""The access matrix's pieces: a row per documented operation (the URL to call with the
objects of customer A filled in, a harmless body, and the answer class expected of each
caller), the callers themselves, and the edges' documented operations read from their
`/openapi.json`."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

# who calls, in the order a row's cells are walked: A last, so a cell that changes A's own
# object (deleting A's saved card) changes nothing the other callers are asked about
CALLERS = ("guest", "B", "admin", "A")
# `{channel:email|phone}` (an aiohttp pattern) and `{channel}` name the same parameter
_PATTERN = re.compile(r"\{(\w+):[^}]*\}")
_PLACEHOLDER = re.compile(r"<(\w+)>")


def plain(path: str) -> str:
    return _PATTERN.sub(r"{\1}", path)


@dataclass(frozen=True)
class Row:
    """`expect`: one answer class per caller of CALLERS ("2xx", a status, or statuses joined
    by "|"); `token`: the service credential the operation takes (a header name and the
    settings' value it carries) with the class expected with it."""

    edge: str
    method: str
    path: str  # as documented, e.g. /cases/{orderId}
    url: str  # with A's objects: /cases/<order>
    expect: str
    body: Any = None
    token: str = ""
    token_expect: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return self.edge, self.method, self.path

    def cells(self) -> dict[str, str]:
        classes = self.expect.split()
        assert len(classes) == len(CALLERS), f"{self.key}: {len(classes)} cells"
        return dict(zip(CALLERS, classes, strict=True))


def matches(status: int, expected: str) -> bool:
    return any(
        200 <= status < 300 if want == "2xx" else status == int(want)
        for want in expected.split("|")
    )


def fill(value: Any, objects: dict[str, Any]) -> Any:
    """`value` with every `<name>` replaced by A's object `name` (a whole `<name>` string
    becomes the object itself, an integer stays an integer)."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return fill(_object(whole.group(1), objects), objects)
        return _PLACEHOLDER.sub(lambda m: str(_object(m.group(1), objects)), value)
    if isinstance(value, dict):
        return {k: fill(v, objects) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, objects) for v in value]
    return value


def _object(name: str, objects: dict[str, Any]) -> Any:
    """`<fresh>` is a new id each time (an Idempotency-Key); any other name is A's object."""
    return str(uuid.uuid4()) if name == "fresh" else objects[name]


async def documented(http: aiohttp.ClientSession, url: str) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation an edge's `/openapi.json` documents."""
    async with http.get(f"{url}/openapi.json") as resp:
        assert resp.status == 200, f"{url}/openapi.json -> {resp.status}"
        doc = await resp.json()
    return {
        (method.upper(), plain(path))
        for path, ops in doc["paths"].items()
        for method in ops
        if method in ("get", "put", "post", "patch", "delete")
    }


async def status_of(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    body: Any,
    headers: dict[str, str],
    cookies: dict[str, str],
) -> tuple[int, str]:
    """One request's status and the start of its answer (for the failure's message)."""
    async with http.request(
        method, url, json=body, headers=headers, cookies=cookies, allow_redirects=False
    ) as resp:
        return resp.status, (await resp.text())[:160]
