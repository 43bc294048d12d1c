"""What a chaos run found: the kill schedule, the orders' fates and ends, the invariants;
printed and written as JSON."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trials.chaos.takeover import Takeover
from trials.invariants.checks import Check
from trials.invariants.snapshot import Snapshot


@dataclass
class Event:
    at: float
    what: str
    target: str


@dataclass
class ChaosReport:
    config: dict[str, Any]
    schedule: list[Event] = field(default_factory=list)
    fates: dict[str, int] = field(default_factory=dict)
    ends: dict[str, int] = field(default_factory=dict)  # orders by final status
    cases: dict[str, int] = field(default_factory=dict)  # picking and delivery cases by end
    means: dict[str, int] = field(default_factory=dict)  # payments and top-ups by means
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    quiet_after_last_kill_s: float | None = None
    poisoned: int = 0
    checks: list[Check] = field(default_factory=list)
    # the processes that ran (the stack file's services: a replicated one lists its replicas)
    processes: dict[str, Any] = field(default_factory=dict)
    takeovers: list[Takeover] = field(default_factory=list)  # each replica killed, and after

    @property
    def ok(self) -> bool:
        return not self.errors and all(c.ok for c in self.checks)


def ends_of(s: Snapshot) -> tuple[dict[str, int], dict[str, int]]:
    """Orders by final status; picking and delivery cases by theirs (damaged, returned, lost:
    the bad endings the simulators chose)."""
    cases = Counter(f"picking {p['status']}" for p in s.picking)
    cases.update(f"delivery {c['status']}" for c in s.cases)
    return dict(Counter(o["status"] for o in s.orders)), dict(cases)


def print_report(report: ChaosReport, path: Path) -> None:
    print(f"\nseed {report.config['seed']}; {len(report.schedule)} chaos events:")
    for e in report.schedule:
        print(f"  t={e.at:7.2f}s  {e.what:<18} {e.target}")
    print("\norders by fate: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.fates.items())))
    print("orders by end: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.ends.items())))
    print("cases by end: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.cases.items())))
    print("payments by means: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.means.items())))
    for t in report.takeovers:
        group = f"group {t.members_before} -> {t.members_after} members"
        if not t.siblings_alive:
            group = "no sibling up to take over"
        elif t.settled:
            group += f" (dropped {t.dropped_after_s}s, stable {t.group_moved_after_s}s)"
        else:
            group += f" (dropped {t.dropped_after_s}s, not seen stable before the restart)"
        leases = f"leases moved {len(t.leases_moved)} of {len(t.leases_held)}"
        alive = ", ".join(t.siblings_alive) or "none"
        print(f"  t={t.at:7.2f}s  {t.replica} killed (alive: {alive}): {group}; {leases}")
    print(f"step retries while services were down: {report.retries}")
    print(f"quiet {report.quiet_after_last_kill_s}s after the last kill")
    print("\ninvariants:")
    for c in report.checks:
        print(f"  [{'ok' if c.ok else 'BROKEN'}] {c.name}: {c.detail}")
    for err in report.errors[:20]:
        print(f"  error: {err}")
    print(f"\n{'ALL INVARIANTS HOLD' if report.ok else 'INVARIANTS BROKEN'}; report: {path}")


def write_report(report: ChaosReport, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"chaos-{time.strftime('%Y%m%d-%H%M%S')}-seed{report.config['seed']}.json"
    body = {**asdict(report), "ok": report.ok}
    path.write_text(json.dumps(body, indent=2, default=str))
    return path
