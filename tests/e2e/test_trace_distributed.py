"""One order is one trace across the services (SPEC §10.5): an order placed through the gateway with a
known W3C `traceparent` leaves JSON log lines carrying that trace id in order, payment, member and product
(REST → gRPC metadata → the outbox row → Kafka headers → the consumers → the payment driven → the PG).

It reads the log files of `market up` (STATE/run/<service>-<i>.log, JSON lines by default there).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from pathlib import Path

import pytest

from market.settings import Settings
from tests.e2e.client import Api, line, pg

pytestmark = pytest.mark.skipif(
    os.environ.get("MARKET_E2E_DISTRIBUTED") != "1", reason="needs the topology of `market up`"
)
SERVICES = ("order", "payment", "member", "product")


def lines_of_trace(run: Path, trace_id: str) -> dict[str, list[dict[str, object]]]:
    """Each service's JSON log lines (over all its replicas) that carry the trace id."""
    found: dict[str, list[dict[str, object]]] = {s: [] for s in SERVICES}
    for service in SERVICES:
        for log in run.glob(f"{service}-*.log"):
            for text in log.read_text(errors="replace").splitlines():
                if trace_id not in text or not text.startswith("{"):
                    continue
                record = json.loads(text)
                if record.get("trace_id") == trace_id:
                    found[service].append(record)
    return found


async def test_an_order_placed_with_a_traceparent_is_one_trace_in_every_services_logs(api: Api) -> None:
    product = await api.product(price=1_000)
    member = await api.member(points=500)
    trace_id = secrets.token_hex(16)
    headers = {
        **member.headers,
        "Idempotency-Key": secrets.token_hex(8),
        "Prefer": "wait=10",
        "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
    }
    body = {"items": [line(product)], "payments": [pg(700), {"method": "POINT", "amount": 300}]}
    r = await api.http.post("/api/v1/orders", headers=headers, json=body)
    assert r.status_code == 201 and r.json()["status"] == "PAID", r.text
    order_id = r.json()["id"]
    run = Settings().state_dir / "run"
    deadline = time.monotonic() + 10  # the consumers' lines come a moment after the answer
    while True:
        found = lines_of_trace(run, trace_id)
        if all(found.values()) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert all(found.values()), {s: len(lines) for s, lines in found.items()}
    for record in (r for lines in found.values() for r in lines):
        assert {"time", "level", "service", "replica", "message"} <= record.keys()
    assert any(r.get("order_id") == order_id for r in found["order"] + found["payment"])
