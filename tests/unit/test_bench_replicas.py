"""`sagashop bench --replicas 1,2`: each level's throughput with every worker as one and as two
processes, the ratio, and the busiest process at each count, in the JSON and on the terminal."""

from __future__ import annotations

from typing import Any

from trials.bench.assess import busiest, scaling
from trials.bench.report import scaling_table


def level(n: int, rate: float, cpu: dict[str, float]) -> dict[str, Any]:
    return {"level": n, "orders_per_s": rate, "cpu_cores": {**cpu, "(whole machine)": 1.9}}


ONE = {
    "saga": [
        level(1, 2.0, {"orchestra": 0.3, "mongodb": 0.5}),
        level(4, 5.0, {"orchestra": 0.95, "mongodb": 0.7}),
    ]
}
TWO = {
    "saga": [
        level(1, 2.2, {"orchestra.1": 0.2, "orchestra.2": 0.2, "mongodb": 0.55}),
        level(4, 7.5, {"orchestra.1": 0.5, "orchestra.2": 0.6, "mongodb": 0.9}),
    ]
}


def test_each_level_gets_the_ratio_and_the_busiest_process_at_each_count() -> None:
    rows = scaling({1: ONE, 2: TWO})
    assert [(r["level"], r["ratio@2"]) for r in rows] == [(1, 1.1), (4, 1.5)]
    assert rows[1]["busiest@1"] == "orchestra 0.95 (full)"
    assert rows[1]["busiest@2"] == "mongodb 0.90 (full)"
    assert busiest(TWO["saga"][0]) == "mongodb 0.55"  # the machine's total is not a process


def test_the_terminal_shows_one_line_per_level_with_both_counts() -> None:
    report = {
        "scaling": scaling({1: ONE, 2: TWO}),
        "replicas": {"2": {"bottleneck": ["saga N=4: busiest mongodb 0.90"]}},
    }
    lines = scaling_table(report)
    assert any("bottleneck with 2: saga N=4" in line for line in lines)
    row = next(line for line in lines if "N=4" in line and "x1:" in line)
    assert "x1: 5.00/s, busiest orchestra 0.95 (full)" in row
    assert "x2: 7.50/s (ratio 1.50), busiest mongodb 0.90 (full)" in row
    assert scaling_table({"scaling": []}) == []
