"""orchestra's edge: admin reads of sagas (steps, replies, timings, history)."""

from __future__ import annotations

from aiohttp import web

from orchestra.repository import Sagas
from schemas.saga_http import SagaPage, SagaQuery, SagaView
from servicekit.errors import NotFound
from servicekit.http import read_query, reply
from servicekit.identity import admin
from servicekit.mongo import Doc
from servicekit.service import Service


def view(doc: Doc) -> SagaView:
    return SagaView.model_validate(
        {
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
    )


def mount(service: Service, sagas: Sagas) -> None:
    @service.routes.get("/sagas/{orderId}", response=SagaView, auth="admin")
    async def get_saga(request: web.Request) -> web.Response:
        """One saga: its state, each participant's step, the reason and the history."""
        await admin(request, service.auth)
        doc = await sagas.get(request.match_info["orderId"])
        if doc is None:
            raise NotFound("saga not found")
        return reply(view(doc))

    @service.routes.get("/sagas", response=SagaPage, auth="admin", query=SagaQuery)
    async def list_sagas(request: web.Request) -> web.Response:
        """Sagas, newest first, optionally by state (an unknown state is refused)."""
        await admin(request, service.auth)
        q = read_query(request, SagaQuery)
        state = q.state.value if q.state else None
        docs, total = await sagas.page(state, q.page * q.page_size, q.page_size)
        return reply(
            SagaPage(
                items=tuple(view(d) for d in docs), page=q.page, page_size=q.page_size, total=total
            )
        )
