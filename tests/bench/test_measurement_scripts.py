"""The committed measurement scripts that docs/performance.md quotes still run. No timing is asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def run(script: str, *args: str, timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_core_overhead_prints_a_cost_per_order_for_each_run_and_counts_statements() -> None:
    out = run(
        "core-overhead", "--orders", "30", "--concurrency", "4", "--runs", "2", "--statements", timeout=120
    )
    lines = out.splitlines()
    costs = []
    for i, line in enumerate(lines[:2], start=1):
        found = re.fullmatch(rf"run {i}: ([\d.]+) ms of CPU per order, garbage collection ([\d.]+) ms", line)
        assert found, line
        costs.append(found[1])
    assert lines[2] == f"lowest: {min(costs, key=float)} ms of CPU per order", lines
    statements = re.fullmatch(r"statements per order: ([\d.]+)", lines[3])
    assert statements and float(statements[1]) > 10, lines[3]
    assert any("INSERT INTO orders" in line for line in lines[4:]), out
    commits = re.fullmatch(r"COMMITs per order: ([\d.]+) \((.+)\)", lines[-1])
    assert commits and float(commits[1]) > 0, lines[-1]
    assert [part.split()[0] for part in commits[2].split(", ")] == [
        "member",
        "notification",
        "order",
        "payment",
        "pg_sandbox",
        "product",
        "reporting",
    ], lines[-1]
