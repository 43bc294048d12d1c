"""schemathesis against one running edge: every documented operation gets a few generated
requests (valid and schema-breaking ones), each answer checked for a server error and for
conformance with its documented schema. Failures are collected per operation, not stopped at
the first, so one run names them all."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

SEED = 15  # issue 15
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 5}
CHECKS = [not_a_server_error, response_schema_conformance]
# a generated logout would end the admin's session every other request relies on
SKIPPED = {"GET /logout", "POST /logout"}


@dataclass
class Findings:
    operations: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


def fuzz_edge(base_url: str, cookies: dict[str, str]) -> Findings:
    """Blocking (requests under the hood): run it in a thread from async code."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    findings = Findings()
    session = requests.Session()
    try:
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                findings.failures.append(f"an operation schemathesis cannot read: {result.err()}")
                continue
            operation = result.ok()
            if operation.label in SKIPPED:
                continue
            findings.operations += 1
            for mode, examples in EXAMPLES.items():
                if mode is GenerationMode.NEGATIVE and not negatable(operation.definition.raw):
                    continue
                strategy = operation.as_strategy(generation_mode=mode, cookies=cookies)
                _run(strategy, examples, base_url, session, operation.label, mode, findings)
    finally:
        session.close()
    return findings


def negatable(raw: dict[str, Any]) -> bool:
    """Whether a request the schema refuses can be written: a body or a query parameter to
    break, or a path parameter with more than a path segment's pattern. (Searching for one
    that cannot exist costs hypothesis seconds per operation.)"""
    if "requestBody" in raw:
        return True
    for param in raw.get("parameters", []):
        if param.get("in") == "query":
            return True
        if param.get("in") == "path" and set(param.get("schema", {})) - {"type", "pattern"}:
            return True
        if param.get("in") == "path" and param.get("schema", {}).get("type") != "string":
            return True
    return False


def _run(
    strategy: hypothesis.strategies.SearchStrategy[schemathesis.Case],
    examples: int,
    base_url: str,
    session: requests.Session,
    label: str,
    mode: GenerationMode,
    findings: Findings,
) -> None:
    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is shown
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(strategy)
    def run(case: schemathesis.Case) -> None:
        findings.requests += 1
        response = case.call_and_validate(
            base_url=base_url, session=session, checks=CHECKS, timeout=30
        )
        findings.statuses[response.status_code] += 1

    try:
        run()
    except Unsatisfiable:
        # nothing the schema refuses can be written for it (no body, no constrained
        # parameter): there is no negative case to send
        findings.unsatisfiable.append(f"{label} ({mode.value})")
    except Exception as exc:
        findings.failures.append(f"{label} ({mode.value}): {exc}")
