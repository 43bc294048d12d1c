"""Route declarations with their pydantic bodies, so one table serves both aiohttp and the
edge's OpenAPI document, and the body helpers every route uses."""

from __future__ import annotations

import contextvars
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from servicekit.errors import DomainError, InvalidRequest

M = TypeVar("M", bound=BaseModel)
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The largest integer a request may carry: every JSON reader keeps it exact (2**53 - 1), it
# fits BSON's 8-byte integers, and a page number times a page size (<= 1000) still does.
MAX_INT = 2**53 - 1
DIGITS = re.compile(r"[0-9]{1,16}")  # ASCII only: int() also takes "²" and "٣" ... or refuses
# the digest of the body read_body parsed in this request's task (see body_digest)
_body_digest: contextvars.ContextVar[str] = contextvars.ContextVar("body_digest", default="")


class UnsupportedMediaType(DomainError):
    status = 415


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: str  # "guest", "customer", "admin", "service"


class Routes:
    def __init__(self) -> None:
        self.table = web.RouteTableDef()
        self.specs: list[RouteSpec] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str = "",
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        auth: str = "guest",
    ) -> Callable[[RouteHandler], RouteHandler]:
        def register(handler: RouteHandler) -> RouteHandler:
            doc = summary or (handler.__doc__ or "").strip().split("\n")[0]
            self.specs.append(RouteSpec(method, path, doc, body, response, status, auth))
            self.table.route(method, path)(handler)
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[RouteHandler], RouteHandler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[RouteHandler], RouteHandler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[RouteHandler], RouteHandler]:
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[RouteHandler], RouteHandler]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[RouteHandler], RouteHandler]:
        return self.route("DELETE", path, **kw)


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


async def read_body(request: web.Request, model: type[M]) -> M:
    """The request body as `model`: 400 that says what is wrong with it, 415 unless it is
    sent as `application/json` (a form or `text/plain` post from another site is not JSON to
    us, whatever it holds)."""
    raw = await request.read()
    if not raw:
        raise InvalidRequest("request body is required")
    if request.content_type != "application/json":
        raise UnsupportedMediaType("request body must be sent as Content-Type: application/json")
    try:
        body = model.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise InvalidRequest("request body is not valid JSON") from exc
        raise InvalidRequest(validation_message(exc)) from exc
    check_integers(body)
    canonical = body.model_dump_json(by_alias=True).encode()
    _body_digest.set(hashlib.sha256(canonical).hexdigest())
    return body


def body_digest() -> str:
    """A digest of the body `read_body` parsed for the request being answered ("" when it
    read none), with its meaning kept and its spelling (spaces, key order) dropped: what an
    Idempotency-Key's first request is compared by."""
    return _body_digest.get()


def read_query(request: web.Request, model: type[M]) -> M:
    try:
        query = model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidRequest(validation_message(exc)) from exc
    check_integers(query)
    return query


def int_param(request: web.Request, name: str, minimum: int = 1) -> int:
    """The path parameter `name` as an integer from `minimum` to MAX_INT, else a 400."""
    raw = request.match_info[name]
    value = int(raw) if DIGITS.fullmatch(raw) else -1
    if not minimum <= value <= MAX_INT:
        raise InvalidRequest(f"{name} must be an integer from {minimum} to {MAX_INT}")
    return value


def check_integers(model: BaseModel) -> None:
    """400 for any integer in `model` beyond ±MAX_INT: the database could not store it, nor
    a JSON client read it back."""
    for where, value in _integers(model.model_dump(by_alias=True), ()):
        if abs(value) > MAX_INT:
            path = ".".join(map(str, where))
            raise InvalidRequest(f"{path}: must be between -{MAX_INT} and {MAX_INT}")


def _integers(value: Any, where: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], int]]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [(where, value)]
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _integers(v, (*where, k))]
    if isinstance(value, list | tuple | set | frozenset):
        return [hit for i, v in enumerate(value) for hit in _integers(v, (*where, i))]
    return []


def reply(body: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> web.Response:
    if isinstance(body, BaseModel):
        text = body.model_dump_json(by_alias=True, exclude_none=True)
    else:
        text = json.dumps(body, ensure_ascii=False, default=str)
    return web.Response(text=text, status=status, content_type="application/json")


def openapi(title: str, specs: list[RouteSpec]) -> dict[str, Any]:
    """An OpenAPI 3.1 document of the routes, with the pydantic models as components."""
    models = {m for s in specs for m in (s.body, s.response) if m is not None}
    keyed: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (m, "validation") for m in sorted(models, key=lambda m: m.__name__)
    ]
    _, defs = models_json_schema(keyed, by_alias=True, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for s in specs:
        op: dict[str, Any] = {"summary": s.summary, "x-auth": s.auth, "responses": {}}
        if s.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{s.body.__name__}"}
                    }
                },
            }
        ok: dict[str, Any] = {"description": "success"}
        if s.response is not None:
            ok["content"] = {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{s.response.__name__}"}
                }
            }
        op["responses"][str(s.status)] = ok
        op["responses"]["4XX"] = {
            "description": "error",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"errorMessage": {"type": "string"}}}
                }
            },
        }
        paths.setdefault(s.path, {})[s.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {})},
    }
