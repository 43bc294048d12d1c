"""Issue 15, "keep them closed": schemathesis against every edge of a running system. Each
documented operation gets a few generated requests (valid ones and ones that break the
schema), with an admin's session and a fixed seed; no answer may be a server error, and every
documented answer must match its documented schema."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from launcher.stack import Stack
from tests.e2e.conftest import SYSTEM_ENV, System
from tests.support.fuzz import Findings, fuzz_edge
from tests.support.money import make_admin, registered_shoppers

EDGES = (
    "auth_svc",
    "billing_svc",
    "notification_svc",
    "store_svc",
    "delivery_svc",
    "payment_svc",
    "order_svc",
    "orchestra",
)
# the send throttle's per-target limit would answer 429 (documented, not a failure) to most
# generated resets and registrations: generous here, so they reach the code behind it
FUZZ_ENV = {**SYSTEM_ENV, "SAGASHOP_SEND_LIMIT_TARGET": "1000"}


@pytest.fixture(scope="module")
async def system() -> AsyncIterator[System]:
    stack = Stack(Path(tempfile.mkdtemp(prefix="sagashop-e2e-fuzz-")), extra_env=FUZZ_ENV)
    await stack.start()
    try:
        yield System(stack)
    finally:
        await stack.stop()


@pytest.fixture(scope="module")
async def admin_session(system: System) -> AsyncIterator[str]:
    """An admin's `sessionId`, with a product in the catalog for the ids to find."""
    await system.add_product("Фазз", 1000, {"msk-1": 50})
    async with registered_shoppers(system.urls) as new:
        admin = await make_admin(system.stack, await new())
        assert admin.http is not None
        session = next(m.value for m in admin.http.cookie_jar if m.key == "sessionId")
        yield session


@pytest.mark.parametrize("edge", EDGES)
async def test_generated_requests_get_no_server_error_and_answers_match_the_edges_schema(
    system: System, admin_session: str, edge: str
) -> None:
    findings: Findings = await asyncio.to_thread(
        fuzz_edge, system.urls[edge], {"sessionId": admin_session}
    )
    assert findings.operations > 0, f"{edge} documents no operation"
    assert findings.failures == [], "\n\n".join(findings.failures)
    # the admin's session reached the code: most answers are not "who are you?"
    assert findings.statuses[401] < findings.requests / 2, findings.statuses
    print(f"{edge}: {findings.operations} operations, {findings.requests} requests", end=" ")
    print(dict(sorted(findings.statuses.items())))
