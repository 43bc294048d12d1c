"""How `sagashop bench` shows what it measured: a progress line on stderr while it runs,
tables on the terminal, a JSON file and a PNG chart (matplotlib, Agg backend)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

Report = dict[str, Any]
Level = dict[str, Any]


class Progress:
    """One line on stderr, redrawn in place on a terminal; every few seconds elsewhere."""

    def __init__(self, stream: TextIO | None = None, width: int = 24) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.width = width
        self.last = 0.0
        self.open = False

    def note(self, text: str) -> None:
        self.end()
        print(f"bench: {text}", file=self.stream, flush=True)

    def bar(self, label: str, fraction: float, extra: str) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last < 5:
            return
        self.last = now
        filled = int(max(0.0, min(fraction, 1.0)) * self.width)
        line = f"{label:<16} [{'#' * filled}{'.' * (self.width - filled)}] {extra}"
        if self.tty:
            self.stream.write(f"\r{line:<100}")
            self.open = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.open:
            self.stream.write("\n")
            self.stream.flush()
            self.open = False


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def capacity_table(report: Report) -> list[str]:
    lines = ["raw infrastructure capacity (same clients, same concurrency, before the load):"]
    lines.append(f"  {'N':>3} {'broker msg/s':>13} {'db inserts/s':>13} {'db 2-write tx/s':>16}")
    for c in report["capacity"]:
        lines.append(
            f"  {c['level']:>3} {c['broker_msgs_per_s']:>13.0f} {c['db_inserts_per_s']:>13.0f} "
            f"{c['db_transactions_per_s']:>16.0f}"
        )
    return lines


def idle_table(report: Report) -> list[str]:
    """The shop with no customer: each process's cores over the idle window, and the whole
    shop's share of one core."""
    idle = report.get("idle")
    if not idle:
        return []
    lines = [
        f"idle: {idle['seconds']:g} s with no customer, once the world was built and the system "
        "quiet (cores: 1.00 = one core busy all the time):"
    ]
    for proc, cores in idle["cpu_cores"].items():
        lines.append(f"  {proc:<26}{cores:>8.3f}")
    lines.append(
        f"  {'(the shop)':<26}{idle['system_cores']:>8.3f}  = {100 * idle['system_cores']:.1f} "
        "% of one core: every process above but the bench driver and the other processes"
    )
    if not idle["quiet"].get("quiet", True):
        lines.append(f"  ! not quiet before the window: {idle['quiet'].get('busy')}")
    if (first := idle.get("first_order_s")) is not None:
        lines.append(
            f"  the first saga order after it: {1000 * first:.0f} ms from hand-over to final "
            "status (compare the saga's p50 at 1 in flight)"
        )
    return lines


def scenario_table(name: str, levels: list[Level]) -> list[str]:
    head = (
        f"  {'N':>3} {'orders/s':>8} {'p50 s':>6} {'p95 s':>6} {'p99 s':>6} {'max s':>6} "
        f"{'conf':>5} {'canc':>5} {'fail':>5} {'err':>4} {'tx/ord':>6} {'msg/ord':>7} "
        f"{'cons/ord':>8} {'wr/ord':>6} {'rd/ord':>6} {'db-lim':>6} {'wr-lim':>6} {'db-cpu':>6} "
        f"{'brk-lim':>7}"
    )
    lines = [f"scenario {name}:", head]
    for lv in levels:
        lat, per, lim, out = lv["latency_s"], lv["per_order"], lv["limits"], lv["outcomes"]
        lines.append(
            f"  {lv['level']:>3} {lv['orders_per_s']:>8.2f} {_f(lat['p50'], 3):>6} "
            f"{_f(lat['p95'], 3):>6} {_f(lat['p99'], 3):>6} {_f(lat['max'], 3):>6} "
            f"{out.get('CONFIRMED', 0):>5} {out.get('CANCELLED', 0):>5} {out.get('FAILED', 0):>5} "
            f"{lv['errors']:>4} {_f(per['db_transactions']):>6} {_f(per['messages_produced']):>7} "
            f"{_f(per['messages_consumed']):>8} {_f(per['db_writes_server']):>6} "
            f"{_f(per.get('db_reads_server')):>6} "
            f"{_pct(lim['db_share']):>6} {_pct(lim.get('db_write_share')):>6} "
            f"{_pct(lim.get('db_cpu_share')):>6} "
            f"{_pct(lim['broker_share']):>7}" + ("  !" if unquiet(lv) else "")
        )
    for lv in levels:
        if note := unquiet(lv):
            lines.append(f"  ! N={lv['level']}: {note}")
    driver = ", ".join(f"{_f(lv['per_order'].get('driver_reads'))}" for lv in levels)
    lines.append(
        "  wr/ord, rd/ord: database writes and finds per order (server counters); rd/ord "
        f"includes the customers' own reads of their orders: {driver} per order"
    )
    lines.append(
        "  db-lim = orders/s / (db tx/s / tx per order); wr-lim = orders/s / (db inserts/s / "
        "writes per order); db-cpu = share of its one core the database used; "
        "brk-lim = orders/s / (broker msg/s / msgs produced per order); capacity at the same N"
    )
    return lines


def unquiet(level: Level) -> str:
    """Why a level's figures are marked: the system was not quiet before its window (earlier
    work ran alongside it) or after it (the counts miss what its orders still caused)."""
    calm = level.get("quiet") or {}
    said = []
    if (before := calm.get("before")) and not before["quiet"]:
        said.append(
            f"not quiet before the window (gave up after {before['seconds']:g} s: "
            f"{before['busy']}), earlier work ran alongside its orders"
        )
    if (after := calm.get("after")) and not after["quiet"]:
        said.append(
            f"not quiet after it (gave up after {after['seconds']:g} s: {after['busy']}), "
            "the per-order counts miss late work"
        )
    return "; ".join(said)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{1000 * value:.1f}"


def hop_table(name: str, levels: list[Level]) -> list[str]:
    """Per level, each topic an order's messages crossed: how many per order, and the mean and
    p50 of each part of one message's way; per order, the sum of its hops."""
    lines = []
    for lv in levels:
        hops = lv.get("hops") or {}
        if not hops.get("topics"):
            continue
        lines.append(
            f"hops, scenario {name} N={lv['level']} (ms, mean / p50 of each part; wall clock of "
            "one machine; * beside the order's way):"
        )
        lines.append(
            f"  {'topic':<34}{'per ord':>8}{'commit->publish':>17}{'publish->fetch':>17}"
            f"{'fetch->commit':>17}{'hop':>8}"
        )
        for row in hops["topics"]:
            parts = "".join(
                f"{_ms(row[p]['mean']):>8} /{_ms(row[p]['p50']):>7}"
                for p in ("commit_to_publish", "publish_to_fetch", "fetch_to_commit")
            )
            topic = row["topic"] + (" *" if row["beside"] else "")
            lines.append(
                f"  {topic:<34}{_f(row['per_order'], 2):>8}{parts}{_ms(row['hop_mean']):>8}"
            )
        steps = " + ".join(
            f"{step['topics'][0] if len(step['topics']) == 1 else 'the slowest request'} "
            f"{_ms(step['hop_mean'])}"
            for step in hops["way"]
        )
        lines.append(
            f"  an order's way, one round: {_ms(hops['way_s'])} ms of its mean latency "
            f"{_ms(lv['latency_s']['mean'])} ms:"
        )
        lines.append(f"    {steps}")
        lines.append(
            f"  every hop of its messages, as if one after another (messages per order x mean "
            f"hop): {_ms(hops['all_hops_on_way_s'])} ms on its way, "
            f"{_ms(hops['all_hops_beside_s'])} ms beside it"
        )
    return lines


def cpu_table(name: str, levels: list[Level]) -> list[str]:
    names = list(levels[0]["cpu_cores"]) if levels else []
    lines = [f"CPU of each process, scenario {name} (cores: 1.00 = one core busy all the time):"]
    lines.append(
        "  " + f"{'process':<26}" + "".join(f"{'N=' + str(lv['level']):>8}" for lv in levels)
    )
    for proc in names:
        row = "".join(f"{lv['cpu_cores'].get(proc, 0.0):>8.2f}" for lv in levels)
        lines.append(f"  {proc:<26}{row}")
    services = list(levels[0]["consumer_busy"]) if levels else []
    lines.append(
        "  consumer loop busy (share of wall time a service spent inside message handlers; "
        "each service handles one message at a time):"
    )
    for svc in services:
        row = "".join(f"{lv['consumer_busy'].get(svc, 0.0):>8.2f}" for lv in levels)
        lines.append(f"  {svc:<26}{row}")
    return lines


def scaling_table(report: Report) -> list[str]:
    """Every worker as 1 vs 2... processes: orders/s, the ratio, the busiest process."""
    rows = report.get("scaling") or []
    if not rows:
        return []
    counts = [k.split("@")[1] for k in rows[0] if k.startswith("orders_per_s@")]
    lines = [
        "",
        "replicas of every worker (a fresh system each; the busiest process and its cores):",
    ]
    for n, other in report.get("replicas", {}).items():
        lines += [f"  bottleneck with {n}: {line}" for line in other["bottleneck"]]
    for row in rows:
        cells = []
        for count in counts:
            ratio = row.get(f"ratio@{count}")
            cells.append(
                f"x{count}: {_f(row[f'orders_per_s@{count}'], 2)}/s"
                + (f" (ratio {_f(ratio, 2)})" if ratio is not None else "")
                + f", busiest {row[f'busiest@{count}']}"
            )
        lines.append(f"  {row['scenario']:<9} N={row['level']:<4} " + "; ".join(cells))
    return lines


def print_report(report: Report, json_path: Path, png_path: Path | None) -> None:
    out: list[str] = [""]
    m = report["machine"]
    out.append(
        f"sagashop bench {report['date']} on {m['cores']} cores ({m['cpu']}), "
        f"{'external' if report['config']['external'] else 'embedded'} infrastructure"
    )
    out += capacity_table(report)
    if idle := idle_table(report):
        out += ["", *idle]
    for name, levels in report["scenarios"].items():
        out.append("")
        out += scenario_table(name, levels)
        out += cpu_table(name, levels)
        out += hop_table(name, levels)
    out.append("")
    for t in report["targets"]:
        out.append(f"  target [{'met' if t['met'] else 'MISSED'}] {t['name']}: {t['detail']}")
    for line in report["bottleneck"]:
        out.append(f"  bottleneck: {line}")
    out += scaling_table(report)
    out.append("invariants after the run:")
    for c in report["invariants"]:
        out.append(f"  [{'ok' if c['ok'] else 'BROKEN'}] {c['name']}: {c['detail'][:300]}")
    for sample in report["error_samples"][:10]:
        out.append(f"  error: {sample}")
    verdict = "OK" if report["ok"] else "NOT OK (errors or broken invariants)"
    out.append(f"\n{verdict}; json: {json_path}" + (f"  chart: {png_path}" if png_path else ""))
    print("\n".join(out), flush=True)


def write_json(report: Report, directory: Path, stamp: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    return path


def draw_chart(report: Report, path: Path) -> Path:
    """Left: throughput against p99 latency, one point per level. Right: the share of the
    database-bound and broker-bound limits reached at each level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {"saga": "tab:blue", "checkout": "tab:orange"}
    names = list(report["scenarios"])
    for name, levels in report["scenarios"].items():
        xs = [lv["orders_per_s"] for lv in levels]
        ys = [lv["latency_s"]["p99"] or 0.0 for lv in levels]
        left.plot(xs, ys, "o-", color=styles.get(name), label=name)
        for lv, x, y in zip(levels, xs, ys, strict=True):
            left.annotate(f"N={lv['level']}", (x, y), textcoords="offset points", xytext=(4, 4))
    p99s = [lv["latency_s"]["p99"] or 0.0 for lvs in report["scenarios"].values() for lv in lvs]
    if p99s and min(p99s) > 0 and max(p99s) / min(p99s) > 20:
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        left.set_yscale("log")
        steps = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
        left.set_yticks([t for t in steps if min(p99s) / 2 <= t <= max(p99s) * 2])
        left.yaxis.set_major_formatter(ScalarFormatter())
        left.yaxis.set_minor_formatter(NullFormatter())
    left.set_xlabel("completed orders/s")
    left.set_ylabel("p99 latency (s)")
    left.set_title("throughput vs p99 latency")
    left.grid(alpha=0.3)
    left.legend()
    bars = (
        ("db_share", "", "database (tx)"),
        ("db_cpu_share", "..", "database (its CPU)"),
        ("broker_share", "//", "broker"),
    )
    width = 0.8 / max(len(bars) * len(names), 1)
    levels_all = sorted({lv["level"] for lvs in report["scenarios"].values() for lv in lvs})
    for k, name in enumerate(names):
        by_level = {lv["level"]: lv["limits"] for lv in report["scenarios"][name]}
        for j, (key, hatch, what) in enumerate(bars):
            offset = (len(bars) * k + j) * width - 0.4 + width / 2
            values = [100 * (by_level.get(n, {}).get(key) or 0.0) for n in levels_all]
            right.bar(
                [i + offset for i in range(len(levels_all))],
                values,
                width,
                color=styles.get(name),
                hatch=hatch,
                alpha=0.85 if not hatch else 0.5,
                label=f"{name}: {what}",
            )
    right.axhline(50, color="grey", linestyle="--", linewidth=1)
    right.set_xticks(range(len(levels_all)), [f"N={n}" for n in levels_all])
    right.set_ylabel("% of the infrastructure-bound limit")
    right.set_title("orders/s as a share of the limit")
    right.legend(fontsize="small")
    m = report["machine"]
    fig.suptitle(f"sagashop bench {report['date']}, {m['cores']} cores")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
