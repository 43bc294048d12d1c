"""orchestra's edge: admin reads of sagas (steps, replies, timings, history)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from orchestra.repository import Sagas
from servicekit.errors import NotFound
from servicekit.http import read_query, reply
from servicekit.identity import admin
from servicekit.mongo import Doc
from servicekit.service import Service


class SagaQuery(BaseModel):
    state: str | None = None
    page: int = Field(default=0, ge=0)
    pageSize: int = Field(default=20, ge=1, le=200)  # the query parameter's name


def view(doc: Doc) -> Doc:
    return {
        "orderId": doc["_id"],
        "state": doc["state"],
        "steps": doc["steps"],
        "reason": doc.get("reason"),
        "deadline": doc["deadline"],
        "username": doc["username"],
        "orderVersion": doc["orderVersion"],
        "createdAt": doc["createdAt"],
        "updatedAt": doc.get("updatedAt"),
        "history": doc.get("history", []),
        "request": doc["request"],
        "disposition": doc.get("disposition"),
        "cancellation": doc.get("cancellation"),
    }


def mount(service: Service, sagas: Sagas) -> None:
    @service.routes.get("/sagas/{orderId}", auth="admin")
    async def get_saga(request: web.Request) -> web.Response:
        """One saga: its state, each participant's step, the reason and the history."""
        await admin(request, service.auth)
        doc = await sagas.get(request.match_info["orderId"])
        if doc is None:
            raise NotFound("saga not found")
        return reply(view(doc))

    @service.routes.get("/sagas", auth="admin", query=SagaQuery)
    async def list_sagas(request: web.Request) -> web.Response:
        """Sagas, newest first, optionally by state."""
        await admin(request, service.auth)
        q = read_query(request, SagaQuery)
        docs, total = await sagas.page(q.state, q.page * q.pageSize, q.pageSize)
        return reply(
            {
                "items": [view(d) for d in docs],
                "page": q.page,
                "pageSize": q.pageSize,
                "total": total,
            }
        )
