"""Every edge's `/openapi.json` is a valid OpenAPI 3.1 document (issue #15, "keep them closed"):
each path parameter declared, no router regexes in paths, the `sessionId` cookie and the
service credentials as security schemes on the operations that need them.

The services are built as `make up` builds them, but only their edges are served (in-process,
no broker or database is reached: the document is made from the route table)."""

from __future__ import annotations

import importlib
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

from launcher.stack import SERVICE_PACKAGES
from servicekit.edge import build_edge
from servicekit.http import AUTH, SECURITY_SCHEMES, RouteSpec, document_path, path_parameters
from servicekit.service import Service

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


async def test_query_parameters_are_declared_from_the_model_the_handler_reads_never_null(
    edge: tuple[Service, dict[str, Any]],
) -> None:
    service, doc = edge
    for path, method, op in operations(doc):
        for p in op.get("parameters", ()):
            if p["in"] == "query":
                assert p["required"] is False, (method, path, p)
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
