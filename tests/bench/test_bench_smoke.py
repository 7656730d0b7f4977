"""`market bench` end to end, briefly: it runs, writes its result and chart, and the audit passes.

A benchmark, not a test of speed: nothing here asserts a timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


@pytest.mark.timeout(180)
def test_a_short_embedded_run_reports_every_figure_and_passes_the_audit(tmp_path: Path) -> None:
    result, chart = tmp_path / "r.json", tmp_path / "c.png"
    command = [sys.executable, "-m", "market.cli", "bench", "--mode", "embedded", "--duration", "3",
               "--warmup", "1", "--clients", "4", "--output", str(result), "--chart", str(chart)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr

    doc = json.loads(result.read_text())
    for key in ("accepted_per_s", "settled_per_s", "ceiling_per_s", "ratio"):
        assert _number(doc[key]), (key, doc[key])
    for key in ("accept_latency_ms", "settle_latency_ms"):
        figures = doc[key]
        assert all(_number(figures[p]) for p in ("p50", "p95", "p99")), (key, figures)
        assert figures["p50"] <= figures["p95"] <= figures["p99"], (key, figures)
    assert doc["orders"]["settled"] > 0 and doc["settled_per_s"] > 0
    assert doc["warmup_s"] == 1 and doc["warmup"]["accepted"] > 0  # reported apart, not dropped
    assert isinstance(doc["errors"], dict)
    assert all(isinstance(n, int) for n in doc["errors"].values())
    assert not [code for code in doc["errors"] if code.startswith("5")], doc["errors"]
    assert doc["audit"]["ok"] is True and doc["audit"]["violations"] == [], doc["audit"]

    names = {p["name"] for p in doc["processes"]}
    assert {"market serve", "bench (load generator)"} <= names, names
    for p in doc["processes"]:
        assert _number(p["cpu_s"]) and (p["peak_rss_mb"] is None or p["peak_rss_mb"] > 0), p
        assert _number(p["cpu_ms_per_order"]), p
    assert doc["cpu_ms_per_order"] > 0
    # The platform's own counters: every order writes to the order and payment databases at least.
    database = doc["database"]
    assert database["statements_per_order"] > 5 and database["commits_per_order"] > 0, database
    assert {"order", "payment", "product", "member"} <= set(database["statements_by_database"]), database
    assert chart.read_bytes().startswith(PNG_SIGNATURE)
