"""`sagashop bench --smoke` as a user runs it: the whole system on its own embedded broker and
database, one low level for a few seconds in both scenarios. It proves the tool works — the
JSON, the chart, the invariants — and never judges the figures (performance is read from the
full run, not asserted by timing)."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from launcher.processes import ROOT
from launcher.stack import pid_alive
from tests.support.cli import cli_argv, cli_env

LEVEL_KEYS = {
    "scenario",
    "level",
    "seconds",
    "completed",
    "orders_per_s",
    "latency_s",
    "outcomes",
    "errors",
    "cpu_cores",
    "consumer_busy",
    "per_order",
    "limits",
    "quiet",
    "hops",
}
HOP_PARTS = ("commit_to_publish", "publish_to_fetch", "fetch_to_commit")


def test_the_smoke_bench_reports_both_scenarios_with_no_error_and_the_invariants_hold():
    home = Path(tempfile.mkdtemp(prefix="sagashop-bench-"))
    out = home / "bench"
    run = subprocess.run(
        cli_argv("bench", "--smoke", "--out", str(out)),
        cwd=ROOT,
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    [path] = out.glob("bench-*.json")
    report = json.loads(path.read_text())

    assert {"date", "machine", "config", "capacity", "scenarios", "targets"} <= set(report)
    assert {"invariants", "invariants_hold", "errors", "chart", "ok"} <= set(report)
    [capacity] = report["capacity"]
    assert capacity["broker_msgs_per_s"] > 0 and capacity["db_transactions_per_s"] > 0
    assert capacity["db_inserts_per_s"] > 0
    assert set(report["scenarios"]) == {"saga", "checkout"}
    for name, levels in report["scenarios"].items():
        [level] = levels
        assert set(level) >= LEVEL_KEYS, name
        assert level["errors"] == 0, level["error_samples"]
        assert level["completed"] >= 1, name
        assert {"p50", "p95", "p99", "max"} <= set(level["latency_s"])
        assert {"db_transactions", "messages_produced", "messages_consumed"} <= set(
            level["per_order"]
        )
        assert level["per_order"]["db_transactions"] > 0, name
        assert {"db_share", "broker_share"} <= set(level["limits"])
        assert {"order_svc", "orchestra", "bench driver"} <= set(level["cpu_cores"])
        assert level["quiet"]["before"]["quiet"] and level["quiet"]["after"]["quiet"], name
        hops = {row["topic"]: row for row in level["hops"]["topics"]}
        # every handed-over order crossed these (a checkout that FAILED never was)
        handed_over = level["outcomes"].get("CONFIRMED", 0) + level["outcomes"].get("CANCELLED", 0)
        for topic in ("order.confirmation-requests", "orchestra.order-outcomes"):
            assert hops[topic]["fetch_to_commit"]["count"] >= handed_over > 0, (name, topic)
        for row in hops.values():
            for part in HOP_PARTS:
                if row[part]["count"]:
                    assert row[part]["mean"] >= 0 and row[part]["p50"] >= 0, (name, row)
        assert 0 < level["hops"]["way_s"] < level["latency_s"]["max"], name
    idle = report["idle"]
    assert idle["seconds"] == 5 and idle["quiet"]["quiet"]
    assert {"broker (tansu)", "database (secantus)", "orchestra"} <= set(idle["cpu_cores"])
    assert 0 < idle["system_cores"] < idle["cpu_cores"]["(whole machine)"] + 0.05
    assert [t for t in report["targets"] if t["name"] == "idle < 10 % of a core"]
    assert "idle: 5 s with no customer" in run.stdout
    assert "hops, scenario saga N=2" in run.stdout and "an order's way" in run.stdout
    assert report["errors"] == 0
    assert report["invariants"] and report["invariants_hold"], report["invariants"]
    assert all(c["ok"] for c in report["invariants"])
    assert Path(report["chart"]).exists() and Path(report["chart"]).stat().st_size > 0
    assert "scenario saga" in run.stdout and "invariants after the run" in run.stdout
    assert report["ok"]
    shutil.rmtree(home, ignore_errors=True)  # kept when something failed, for its logs


def _bench(home: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_argv("bench", "--smoke", "--out", str(out)),
        cwd=ROOT,
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_second_bench_refuses_the_running_ones_files_and_sigterm_stops_everything_it_started():
    home = Path(tempfile.mkdtemp(prefix="sagashop-bench-"))
    out = home / "bench"
    first = _bench(home, out)
    described = out / "stack" / "stack.json"
    pids: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            stack = json.loads(described.read_text())
            pids = [svc["pid"] for svc in stack["services"].values()]
            pids += [p["pid"] for p in stack["infra"].values()]
            if stack["state"] == "ready" and len(pids) >= 10:
                break
        time.sleep(0.2)
    assert len(pids) >= 10 and first.poll() is None, "the first bench did not get its system up"

    second = _bench(home, out)
    said, _ = second.communicate(timeout=60)
    assert second.returncode == 2, said
    assert "another sagashop bench is running" in said
    assert described.exists() and all(pid_alive(p) for p in pids), (
        "the first run's files or processes"
    )

    first.send_signal(signal.SIGTERM)
    said, _ = first.communicate(timeout=60)
    assert first.returncode == 130, said[-3000:]
    assert "stopped" in said
    assert not [p for p in pids if pid_alive(p)], "processes left running after SIGTERM"
    shutil.rmtree(home, ignore_errors=True)
