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


def test_bus_overhead_prints_a_cost_per_delivery_for_each_run() -> None:
    out = run("bus-overhead", "--orders", "40", "--events", "2", "--runs", "2", timeout=60)
    found = re.fullmatch(r"CPU per delivery: ([\d.]+), ([\d.]+) µs; lowest ([\d.]+) µs\n", out)
    assert found, out
    runs = [float(found[1]), float(found[2])]
    assert all(r > 0 for r in runs) and float(found[3]) == min(runs)


def test_http_overhead_prints_a_cost_per_request_of_each_path_for_each_run() -> None:
    lines = run(
        "http-overhead", "--requests", "64", "--clients", "4", "--runs", "2", timeout=120
    ).splitlines()
    assert [line.split(":")[0] for line in lines] == ["GET /api/v1/orders/{id}", "POST /api/v1/echo"], lines
    for line in lines:
        found = re.fullmatch(r"[^:]+: (\d+), (\d+) µs of server CPU per request; lowest (\d+) µs", line)
        assert found, line
        assert int(found[3]) == min(int(found[1]), int(found[2]))
