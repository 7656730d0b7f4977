"""The committed measurement scripts that docs/performance.md quotes still run. No timing is asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def test_bus_overhead_prints_a_cost_per_delivery_for_each_run() -> None:
    command = [
        sys.executable,
        str(SCRIPTS / "bus-overhead"),
        "--orders",
        "40",
        "--events",
        "2",
        "--runs",
        "2",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.fullmatch(r"CPU per delivery: ([\d.]+), ([\d.]+) µs; lowest ([\d.]+) µs\n", done.stdout)
    assert found, done.stdout
    runs = [float(found[1]), float(found[2])]
    assert all(r > 0 for r in runs) and float(found[3]) == min(runs)
