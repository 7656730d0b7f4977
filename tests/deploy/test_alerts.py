"""The alerting rules name only metrics the services export."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_every_alert_reads_a_metric_the_code_exports() -> None:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"][0]["rules"]
    code = "\n".join(p.read_text() for p in (ROOT / "src/market").rglob("*.py"))
    assert {r["alert"] for r in rules} >= {"MarketDeadLetters", "MarketOrdersStuck"}
    for rule in rules:
        for metric in re.findall(r"\b(market_[a-z_]+)", rule["expr"]):
            exported = metric.removesuffix("_total")
            assert f'"{exported}' in code or f'"{metric}"' in code, (rule["alert"], metric)
