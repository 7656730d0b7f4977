"""`market status`: every replica of the topology `market up` runs, its health, consumer lag and outbox
backlog (read from its own /readyz and /metrics)."""

from __future__ import annotations

import httpx

from market.bootstrap.health import samples_of
from market.bootstrap.topology import SANDBOX, Replica, remembered, replicas, running
from market.settings import Settings


def probe(settings: Settings, replica: Replica) -> dict[str, object]:
    """What one replica says of itself: up, ready, consumer lag and outbox backlog (None: not known)."""
    row: dict[str, object] = {"replica": replica.name, "port": replica.port(settings), "pid": None,
                              "ready": False, "lag": None, "backlog": None}  # fmt: skip
    row["pid"] = running(settings, replica)
    if row["pid"] is None:
        return row
    base = f"http://127.0.0.1:{replica.port(settings)}"
    try:
        ready = httpx.get(f"{base}/{'healthz' if replica.service == SANDBOX else 'readyz'}", timeout=2)
        row["ready"] = ready.status_code == 200
        if replica.service != SANDBOX:
            samples = samples_of(httpx.get(f"{base}/metrics", timeout=2).text)
            for (name, _), value in samples.items():
                key = {"market_consumer_lag": "lag", "market_outbox_backlog": "backlog"}.get(name)
                if key is not None:
                    row[key] = int(value) + int(row[key] or 0)  # type: ignore[call-overload]
    except httpx.HTTPError:
        pass
    return row


def status(settings: Settings) -> tuple[str, bool]:
    """The table, and whether every replica is up and ready."""
    settings = remembered(settings)
    rows = [probe(settings, r) for r in replicas(settings)]
    lines = [f"{'replica':<16} {'port':>5} {'pid':>8} {'ready':>5} {'lag':>6} {'backlog':>7}"]
    for r in rows:
        show = {k: ("-" if v is None else v) for k, v in r.items()}
        lines.append(
            f"{show['replica']:<16} {show['port']:>5} {show['pid']:>8} {'yes' if r['ready'] else 'no':>5}"
            f" {show['lag']:>6} {show['backlog']:>7}"
        )
    return "\n".join(lines), all(r["ready"] for r in rows)
