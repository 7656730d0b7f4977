"""Runs the audit against a deployment: waits for in-flight orders to settle, then checks every invariant."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from market.audit.checks import Snapshot, read_snapshot, settled, violations
from market.kernel.db import Database


@dataclass
class AuditReport:
    orders: int
    unsettled: int
    violations: list[str]

    @property
    def ok(self) -> bool:
        return not self.violations

    def render(self) -> str:
        head = f"audited {self.orders} orders ({self.unsettled} not settled): "
        if self.ok:
            return head + "every invariant holds"
        return (
            head + f"{len(self.violations)} violation(s)\n" + "\n".join(f"  - {v}" for v in self.violations)
        )


def _quiet(snap: Snapshot, unsettled: int) -> bool:
    """Nothing in flight: orders settled, outboxes drained, and stock given back both by ended orders and
    by placements that never stored their order (a crashed one's, which the order service's sweep gives
    back within a minute and a half)."""
    live = {o["id"] for o in snap.orders if o["status"] not in ("FAILED", "CANCELLED")}
    held = any(r["status"] == "RESERVED" and r["order_id"] not in live for r in snap.reservations)
    return unsettled == 0 and snap.outbox_backlog == 0 and not held


async def audit(dbs: dict[str, Database], wait_seconds: float = 0.0) -> AuditReport:
    """Check SPEC §8; with `wait_seconds`, first wait until no order is in flight and the outboxes are empty."""
    deadline = time.monotonic() + wait_seconds
    while True:
        snap = await read_snapshot(dbs)
        unsettled = sum(1 for o in snap.orders if not settled(o))
        if _quiet(snap, unsettled) or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.25)
    return AuditReport(len(snap.orders), unsettled, violations(snap, datetime.now(UTC)))
