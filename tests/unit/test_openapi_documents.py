"""Every edge's `/openapi.json` is a valid OpenAPI 3.1 document (issue #15, "keep them closed"):
each path parameter declared, no router regexes in paths, the `sessionId` cookie and the
service credentials as security schemes on the operations that need them.

The services are built as `make up` builds them, but only their edges are served (in-process,
no broker or database is reached: the document is made from the route table)."""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

from launcher.stack import SERVICE_PACKAGES
from servicekit.edge import build_edge
from servicekit.http import AUTH, SECURITY_SCHEMES, RouteSpec, document_path, path_parameters
from servicekit.service import Service
from tests.support.conventions import document_breaks, walk

# the edge's own doors, served by every service and kept out of its document
EDGE_OWN = {"/health", "/ready", "/metrics", "/openapi.json", "/asyncapi.json"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def build(package: str) -> Service:
    service: Service = importlib.import_module(f"{package}.app").build()
    return service


@pytest.fixture(params=SERVICE_PACKAGES)
async def edge(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Service, dict[str, Any]]]:
    service = build(request.param)
    async with TestClient(TestServer(build_edge(service))) as client:
        resp = await client.get("/openapi.json")
        assert resp.status == 200
        yield service, await resp.json()
    await service.auth.close()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def test_the_edges_are_the_eight_services() -> None:
    assert len(SERVICE_PACKAGES) == 8


async def test_each_edge_serves_a_document_the_openapi_validator_finds_no_error_in(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    service, doc = edge
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in OpenAPIV31SpecValidator(doc).iter_errors()
    ]
    assert doc["openapi"].startswith("3.1") and doc["info"]["title"] == service.name
    assert errors == [], "\n".join(errors)


async def test_each_route_the_edge_serves_is_in_its_document_under_its_method(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    service, doc = edge
    served = {
        (document_path(r.resource.canonical), r.method.lower())
        for r in build_edge(service).router.routes()
        if r.resource is not None and r.method not in ("HEAD", "*")
    }
    documented = {(path, method) for path, method, _ in operations(doc)}
    assert served - documented == {(p, "get") for p in EDGE_OWN}
    assert documented <= served


async def test_no_document_path_keeps_a_router_regex_and_each_parameter_is_declared(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    _, doc = edge
    for path, method, op in operations(doc):
        assert ":" not in path and "\\" not in path, path
        names = [name for name, regex in path_parameters(path)]
        assert all(regex is None for _, regex in path_parameters(path)), path
        declared = [p["name"] for p in op.get("parameters", ()) if p["in"] == "path"]
        assert declared == names, (method, path, declared)
        for p in op.get("parameters", ()):
            if p["in"] == "path":
                assert p["required"] is True and "type" in p["schema"], (method, path, p)


def test_every_route_names_a_known_kind_of_caller() -> None:
    unknown = [
        (package, spec.method, spec.path, spec.auth)
        for package in SERVICE_PACKAGES
        for spec in build(package).routes.specs
        if spec.auth not in AUTH
    ]
    assert unknown == [], f"add each kind to servicekit.http.AUTH: {unknown}"


async def test_operations_for_a_customer_or_an_admin_need_the_session_cookie(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    service, doc = edge
    specs: dict[tuple[str, str], RouteSpec] = {
        (document_path(s.path), s.method.lower()): s for s in service.routes.specs
    }
    schemes = doc["components"].get("securitySchemes", {})
    for path, method, op in operations(doc):
        auth = specs[path, method].auth
        wanted: list[dict[str, list[str]]] = [{n: [] for n in needed} for needed in AUTH[auth]]
        assert op.get("security", []) == wanted, (method, path, auth)
        if auth in ("customer", "admin"):
            assert op["security"] == [{"sessionCookie": []}]
        for requirement in op.get("security", []):
            for name in requirement:
                assert schemes[name] == SECURITY_SCHEMES[name]
    if any(s.auth in ("customer", "admin") for s in service.routes.specs):
        assert schemes["sessionCookie"] == {
            **SECURITY_SCHEMES["sessionCookie"],
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionId",
        }


def test_service_credentials_are_bearer_schemes_and_webhooks_signature_headers() -> None:
    for name in ("warehouseToken", "pickupToken", "holdsToken"):
        assert SECURITY_SCHEMES[name]["type"] == "http"
        assert SECURITY_SCHEMES[name]["scheme"] == "bearer"
    headers = {
        "carrierSignature": "X-Carrier-Signature",
        "bankSignature": "X-Bank-Signature",
        "smsSignature": "X-Signature",
    }
    for name, header in headers.items():
        assert SECURITY_SCHEMES[name] == {**SECURITY_SCHEMES[name], "in": "header", "name": header}
    assert AUTH["staff"] == (("sessionCookie",), ("warehouseToken",))
    assert AUTH["holds"] == (("sessionCookie", "holdsToken"),)


def test_router_regexes_become_plain_parameters_with_an_enum_or_a_pattern() -> None:
    from servicekit.http import Routes, openapi

    routes = Routes()

    async def handler(_: Any) -> Any:  # pragma: no cover - never called
        raise AssertionError

    routes.post("/verify/{channel:email|phone}/send", auth="customer")(handler)
    routes.get(r"/codes/{code:[0-9]{6}}/{rest}")(handler)
    doc = openapi("test", routes.specs)
    assert set(doc["paths"]) == {"/verify/{channel}/send", "/codes/{code}/{rest}"}
    assert list(OpenAPIV31SpecValidator(doc).iter_errors()) == []
    (channel,) = doc["paths"]["/verify/{channel}/send"]["post"]["parameters"]
    assert channel["schema"] == {"type": "string", "enum": ["email", "phone"]}
    code, rest = doc["paths"]["/codes/{code}/{rest}"]["get"]["parameters"]
    assert code["schema"] == {"type": "string", "pattern": "^(?:[0-9]{6})$"}
    assert rest["name"] == "rest" and rest["schema"]["type"] == "string"
    segment = re.compile(rest["schema"]["pattern"])
    assert segment.search("a1-b.c%20") and segment.search("...")
    assert not any(segment.search(bad) for bad in ("", ".", "..", "a/b"))


def test_a_schema_for_a_parameter_the_path_does_not_have_is_refused() -> None:
    from servicekit.http import INT_PARAM, Routes

    with pytest.raises(ValueError, match="no path parameter"):
        Routes().get("/products/{id}", params={"sku": INT_PARAM})


async def test_integer_path_parameters_are_declared_as_integers_json_and_bson_keep() -> None:
    service = build("store_svc")
    try:
        async with TestClient(TestServer(build_edge(service))) as client:
            doc = await (await client.get("/openapi.json")).json()
    finally:
        await service.auth.close()
    (param,) = doc["paths"]["/products/{id}"]["get"]["parameters"]
    assert param["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**53 - 1}


REQUIRED_QUERY = {("/get", "orderId")}  # the only query parameter an edge cannot do without


async def test_query_parameters_are_declared_from_the_model_the_handler_reads_never_null(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    service, doc = edge
    for path, method, op in operations(doc):
        for p in op.get("parameters", ()):
            if p["in"] == "query":
                required = (path, p["name"]) in REQUIRED_QUERY
                assert p["required"] is required, (method, path, p)
                assert {"type": "null"} not in p["schema"].get("anyOf", ()), (method, path, p)
    if service.name == "order_svc":
        listed = doc["paths"]["/admin/orders"]["get"]["parameters"]
        names = [p["name"] for p in listed]
        assert names == ["status", "username", "from", "to", "page", "pageSize"]
        assert listed[2]["schema"] == {"type": "string", "format": "date-time", "title": "From"}
        assert listed[0]["schema"] == {"$ref": "#/components/schemas/OrderStatus"}
    if service.name == "store_svc":
        listed = doc["paths"]["/products"]["get"]["parameters"]
        assert [p["name"] for p in listed] == ["q", "page", "pageSize", "sort"]


# --- beyond validity (issue #17 part 5): what a client generated from the document needs ----


def handlers(service: Service) -> dict[tuple[str, str], Any]:
    """Each documented operation's handler, by (document path, method)."""
    return {
        (document_path(r.resource.canonical), r.method.lower()): r.handler
        for r in build_edge(service).router.routes()
        if r.resource is not None and r.method not in ("HEAD", "*")
    }


def source_reached(handler: Any, depth: int = 2) -> str:
    """The handler's source and that of the functions it calls by name in its own package
    (module functions and the closures `mount` shares), `depth` calls deep."""
    seen: list[Any] = []

    def visit(fn: Any, left: int) -> None:
        fn = inspect.unwrap(fn)
        if not inspect.isfunction(fn) or fn in seen:
            return
        seen.append(fn)
        if left == 0:
            return
        package = fn.__module__.split(".")[0]
        cells = [c.cell_contents for c in fn.__closure__ or () if _filled(c)]
        named = [fn.__globals__.get(n) for n in fn.__code__.co_names]
        for callee in (*cells, *named):
            if inspect.isfunction(callee) and callee.__module__.split(".")[0] == package:
                visit(callee, left - 1)

    visit(handler, depth)
    return "\n".join(textwrap.dedent(inspect.getsource(fn)) for fn in seen)


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


SUCCESS_STATUS = re.compile(r"\bstatus=([^,)\n]*)")


def answered_statuses(source: str) -> set[str]:
    return {
        code
        for found in SUCCESS_STATUS.findall(source)
        for code in re.findall(r"\b([123]\d\d)\b", found)
    }


def with_sources(service: Service, doc: dict[str, Any]) -> list[tuple[str, str, Any, str]]:
    """Each operation with the source its handler runs (`source_reached`)."""
    code = handlers(service)
    return [(p, m, op, source_reached(code[p, m])) for p, m, op in operations(doc)]


async def test_every_success_status_a_handler_answers_is_in_its_document(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    for path, method, op, source in with_sources(*edge):
        answered = answered_statuses(source)
        documented = {s for s in op["responses"] if s[0] in "123"}
        assert answered <= documented, (method, path, answered - documented)


async def test_every_success_answer_with_a_body_has_a_schema_orchestra_included(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    _, doc = edge
    for path, method, op in operations(doc):
        for status, answer in op["responses"].items():
            if status[0] != "2" or status == "204":
                continue
            [(media, typed)] = answer.get("content", {"none": {}}).items()
            assert "schema" in typed, (method, path, status, media)
            if media == "application/json":
                assert "$ref" in typed["schema"], (method, path, status)


async def test_the_idempotency_key_header_is_declared_where_a_handler_reads_it(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    for path, method, op, source in with_sources(*edge):
        headers = {
            p["name"]: p["required"] for p in op.get("parameters", ()) if p["in"] == "header"
        }
        if "key_of(request)" in source:
            assert headers.get("Idempotency-Key") is True, (method, path)
        elif "key_of(request, required=False)" in source:
            assert headers.get("Idempotency-Key") is False, (method, path)
        else:
            assert "Idempotency-Key" not in headers, (method, path)


async def test_every_query_parameter_a_handler_reads_is_declared(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    for path, method, op, source in with_sources(*edge):
        read = set(re.findall(r"request\.query\.get\(\"(\w+)\"", source))
        declared = {p["name"] for p in op.get("parameters", ()) if p["in"] == "query"}
        assert read <= declared, (method, path, read - declared)


async def test_summaries_are_the_docstrings_whole_first_sentence_or_paragraph(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    service, doc = edge
    code = handlers(service)
    for path, method, op in operations(doc):
        summary = op["summary"]
        assert summary and summary[-1] in ".)", (method, path, summary)
        handler_doc = " ".join((code[path, method].__doc__ or "").split())
        assert handler_doc.startswith(summary), (method, path, summary)
        assert op.get("description", summary).startswith(summary)
        if len(handler_doc) > len(summary):
            assert op["description"] == handler_doc, (method, path)


async def test_a_tagged_unions_tag_is_required_by_each_member(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    _, doc = edge
    schemas = doc["components"]["schemas"]
    tagged = [
        v["discriminator"] for _, v in walk(schemas) if isinstance(v, dict) and "discriminator" in v
    ]
    for tag in tagged:
        for ref in tag["mapping"].values():
            member = schemas[ref.rsplit("/", 1)[-1]]
            assert tag["propertyName"] in member["required"], ref


def test_checkouts_delivery_type_is_required() -> None:
    from servicekit.http import openapi

    doc = openapi("order_svc", build("order_svc").routes.specs)
    for choice in ("PickupChoice", "CourierChoice"):
        assert "type" in doc["components"]["schemas"][choice]["required"]


async def test_errors_and_timestamps_are_documented_by_the_conventions(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    _, doc = edge
    assert document_breaks(doc) == []
