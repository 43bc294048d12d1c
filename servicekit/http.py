"""Route declarations with their pydantic bodies, so one table serves both aiohttp and the
edge's OpenAPI document, and the body helpers every route uses."""

from __future__ import annotations

import contextvars
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from pydantic_core import to_json

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
    auth: str  # a key of AUTH: who may call it, and so the document's security requirement
    params: tuple[tuple[str, dict[str, Any]], ...] = ()  # path parameters' schemas, if not text
    query: type[BaseModel] | None = None  # the model read_query reads the query string as
    description: str = ""  # the handler's whole docstring, when it says more than the summary
    also: tuple[int, ...] = ()  # the other success statuses it may answer (202 while pending)
    idempotency_key: str = ""  # "required" or "optional": it takes an Idempotency-Key header
    media: str = "application/json"  # what a success answer is (a picture, a file of lines)


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
        params: dict[str, dict[str, Any]] | None = None,
        query: type[BaseModel] | None = None,
        also: tuple[int, ...] = (),
        idempotency_key: Literal["", "required", "optional"] = "",
        media: str = "application/json",
    ) -> Callable[[RouteHandler], RouteHandler]:
        """`params`: a JSON schema for path parameters that are not plain text (`INT_PARAM`
        for one `int_param` reads); `query`: the model the handler's `read_query` takes, each
        field a query parameter; `also`: success statuses besides `status`;
        `idempotency_key`: whether the `Idempotency-Key` header is required or optional;
        `media`: the content type of a success answer that is not JSON. So the document says
        what the edge takes and answers; the summary is the docstring's first paragraph."""
        unknown = set(params or ()) - {name for name, _ in path_parameters(path)}
        if unknown:
            raise ValueError(f"{method} {path}: no path parameter {sorted(unknown)}")

        def register(handler: RouteHandler) -> RouteHandler:
            first, whole = docstring_parts(handler.__doc__ or "")
            typed = tuple(sorted((params or {}).items()))
            spec = RouteSpec(
                method,
                path,
                summary or first,
                body,
                response,
                status,
                auth,
                typed,
                query,
                whole if whole != (summary or first) else "",
                tuple(also),
                idempotency_key,
                media,
            )
            self.specs.append(spec)
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


def docstring_parts(doc: str) -> tuple[str, str]:
    """A docstring's first paragraph and the whole of it, each on one line."""
    paragraphs = [" ".join(p.split()) for p in doc.strip().split("\n\n")]
    return paragraphs[0], " ".join(p for p in paragraphs if p)


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


def json_text(body: BaseModel | dict[str, Any] | list[Any]) -> str:
    """The one JSON encoding of every edge's answers: pydantic's, so a model and a plain
    document read alike (timestamps ISO 8601 in UTC, `2026-12-04T14:43:27.488000Z`, a naive
    one taken as UTC; dates `2026-12-04`; text as UTF-8, unescaped)."""
    if isinstance(body, BaseModel):
        return body.model_dump_json(by_alias=True, exclude_none=True)
    return to_json(_utc(body), fallback=str).decode()


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: _utc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_utc(v) for v in value]
    return value


def reply(body: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> web.Response:
    return web.Response(text=json_text(body), status=status, content_type="application/json")


# What a path parameter read with `int_param` takes (its `minimum` being the default 1).
INT_PARAM: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_INT}

# The ways a caller proves who it is, as OpenAPI security schemes.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionId",
        "description": "the session auth_svc's login sets (checked with auth_svc's GET /auth)",
    },
    "warehouseToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "the warehouse's service credential (SAGASHOP_WAREHOUSE_TOKEN)",
    },
    "holdsToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "order_svc's credential for holds at checkout (SAGASHOP_HOLDS_TOKEN)",
    },
    "pickupToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "the pickup points' service credential (SAGASHOP_PICKUP_TOKEN)",
    },
    "carrierSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Carrier-Signature",
        "description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of 't.body'> under "
        "SAGASHOP_CARRIER_WEBHOOK_SECRET",
    },
    "bankSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Bank-Signature",
        "description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of 't.body'> under the bank's "
        "webhook secret",
    },
    "smsSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Signature",
        "description": "hex HMAC-SHA256 of the body under the SMS gateway's webhook secret",
    },
}

# A route's `auth` -> the security requirements any one of which lets a caller in, each the
# schemes it needs together (none: anyone may call).
AUTH: dict[str, tuple[tuple[str, ...], ...]] = {
    "guest": (),
    "customer": (("sessionCookie",),),
    "admin": (("sessionCookie",),),
    "staff": (("sessionCookie",), ("warehouseToken",)),  # an admin's session or the warehouse
    # order_svc's checkout: the customer's forwarded session and the holds credential
    "holds": (("sessionCookie", "holdsToken"),),
    "pickup-point": (("pickupToken",),),
    "pickup-point-or-admin": (("pickupToken",), ("sessionCookie",)),
    "carrier-signature": (("carrierSignature",),),
    "bank-signature": (("bankSignature",),),
    "sms-signature": (("smsSignature",),),
}

# what aiohttp's `{name}` matches, less `.` and `..` (a client folds them into the path)
_SEGMENT = r"^(?!\.\.?$)[^/]+$"
# a router regex that only lists words (`{channel:email|phone}`): an enum in the document
_PLAIN_WORDS = re.compile(r"[A-Za-z0-9_-]+(?:\|[A-Za-z0-9_-]+)*")


def path_parameters(path: str) -> list[tuple[str, str | None]]:
    """The path's parameters in order, each with its router regex (None without one)."""
    found: list[tuple[str, str | None]] = []
    for inside in _braced(path):
        name, colon, regex = inside.partition(":")
        found.append((name.strip(), regex if colon else None))
    return found


def document_path(path: str) -> str:
    """The path as OpenAPI writes it: `{id:\\d+}` -> `{id}`."""
    out, rest = [], path
    for inside in _braced(path):
        before, _, rest = rest.partition("{" + inside + "}")
        out.append(before + "{" + inside.partition(":")[0].strip() + "}")
    return "".join(out) + rest


def _braced(path: str) -> list[str]:
    """What each `{name}` or `{name:regex}` of an aiohttp path holds (a regex may hold
    braces of its own)."""
    found, depth, start = [], 0, 0
    for i, ch in enumerate(path):
        if ch == "{":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                found.append(path[start:i])
    return found


def _parameter(name: str, regex: str | None, typed: dict[str, Any] | None) -> dict[str, Any]:
    schema: dict[str, Any]
    if typed is not None:
        schema = dict(typed)
    elif regex is None:
        schema = {"type": "string", "pattern": _SEGMENT}
    elif _PLAIN_WORDS.fullmatch(regex):
        schema = {"type": "string", "enum": regex.split("|")}
    else:
        schema = {"type": "string", "pattern": f"^(?:{regex})$"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query_parameters(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Each field of a query model's JSON schema as a query parameter (an optional field's
    `null` is its absence: a query string cannot send one)."""
    required = set(model.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _not_null(schema)}
        for name, schema in model.get("properties", {}).items()
    ]


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    kept = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if len(kept) != 1 or len(kept) == len(schema.get("anyOf", ())):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**kept[0], **rest}


# every error answer of every edge (servicekit.edge.error)
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"errorMessage": {"type": "string"}},
    "required": ["errorMessage"],
}
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _idempotency_parameter(need: str) -> dict[str, Any]:
    return {
        "name": IDEMPOTENCY_HEADER,
        "in": "header",
        "required": need == "required",
        "description": "the same key (and body) answers the first request's answer again; "
        "another body with it is 422, while the first still runs 409",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    }


def _responses(s: RouteSpec) -> dict[str, Any]:
    """Each success status with its body, and the errors (4XX, 5XX) as `{errorMessage}`."""
    out: dict[str, Any] = {}
    for status in sorted({s.status, *s.also}):
        ok: dict[str, Any] = {"description": "success"}
        if status == 204:
            pass
        elif s.media != "application/json":
            ok["content"] = {s.media: {"schema": {"type": "string"}}}
        elif s.response is not None:
            ref = {"$ref": f"#/components/schemas/{s.response.__name__}"}
            ok["content"] = {"application/json": {"schema": ref}}
        out[str(status)] = ok
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    out["4XX"] = {"description": "refused: `errorMessage` says why", "content": error}
    out["5XX"] = {"description": "failed or unavailable: `errorMessage`", "content": error}
    return out


def _discriminators_required(schemas: dict[str, Any]) -> None:
    """A tagged union's tag is required by each of its members (pydantic leaves it out when
    the member's tag has a default, yet a body without it is refused)."""
    for schema in _walk(schemas):
        tag = schema.get("discriminator", {})
        for ref in tag.get("mapping", {}).values():
            member = schemas[ref.rsplit("/", 1)[-1]]
            if tag["propertyName"] not in member.setdefault("required", []):
                member["required"].insert(0, tag["propertyName"])


def _walk(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [d for v in value for d in _walk(v)]
    if not isinstance(value, dict):
        return []
    return [value, *(d for v in value.values() for d in _walk(v))]


def openapi(title: str, specs: list[RouteSpec]) -> dict[str, Any]:
    """An OpenAPI 3.1 document of the routes, with the pydantic models as components: each
    path, query and `Idempotency-Key` header parameter declared (router regexes become an
    enum or a pattern), every success status with its body and the errors as `{errorMessage}`,
    and each route's `auth` as the security schemes that let a caller in (an `auth` not in
    AUTH is left without one, and the unit test of the documents names it)."""
    models = {m for s in specs for m in (s.body, s.response, s.query) if m is not None}
    keyed: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (m, "validation") for m in sorted(models, key=lambda m: m.__name__)
    ]
    refs, defs = models_json_schema(
        keyed, by_alias=True, ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = defs.get("$defs", {})
    _discriminators_required(schemas)
    schemas["Error"] = ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for s in specs:
        op: dict[str, Any] = {"summary": s.summary, "x-auth": s.auth}
        if s.description:
            op["description"] = s.description
        typed = dict(s.params)
        params = [_parameter(n, rx, typed.get(n)) for n, rx in path_parameters(s.path)]
        if s.query is not None:
            name = refs[s.query, "validation"]["$ref"].rsplit("/", 1)[-1]
            params += _query_parameters(schemas[name])
        if s.idempotency_key:
            params.append(_idempotency_parameter(s.idempotency_key))
        if params:
            op["parameters"] = params
        requirements = AUTH.get(s.auth, ())
        if requirements:
            op["security"] = [{name: [] for name in needed} for needed in requirements]
            used.update(name for needed in requirements for name in needed)
        if s.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{s.body.__name__}"}
                    }
                },
            }
        op["responses"] = _responses(s)
        paths.setdefault(document_path(s.path), {})[s.method.lower()] = op
    components: dict[str, Any] = {"schemas": schemas}
    if used:
        components["securitySchemes"] = {n: SECURITY_SCHEMES[n] for n in sorted(used)}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths,
        "components": components,
    }
