"""`market status`: every replica of the topology `market up` runs, its health, consumer lag and outbox
backlog (read from its own /readyz and /metrics, with the scrape token or an admin token of its own), and
every Kafka node (its pid file, and whether its broker port answers)."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

import httpx

from market.bootstrap.health import samples_of
from market.bootstrap.topology import SANDBOX, Replica, kafka_bootstrap, remembered, replicas, running
from market.bootstrap.wiring import token_settings
from market.member.adapters.jwt import JwtTokenIssuer
from market.member.domain import ACTIVE, ADMIN, Member
from market.settings import Settings


def metrics_headers(settings: Settings) -> dict[str, str]:
    """/metrics answers the scrape token, or an admin's token: `market status` signs one (it has the key)."""
    if settings.metrics_token:
        return {"Authorization": f"Bearer {settings.metrics_token}"}
    operator = Member("market-status", "status@market.local", "market status", ADMIN, ACTIVE, 0,
                      datetime.now(UTC))  # fmt: skip
    token, _ = JwtTokenIssuer(token_settings(settings)).issue(operator)
    return {"Authorization": f"Bearer {token}"}


def probe(settings: Settings, replica: Replica, headers: dict[str, str] | None = None) -> dict[str, object]:
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
            samples = samples_of(httpx.get(f"{base}/metrics", headers=headers, timeout=2).text)
            for (name, _), value in samples.items():
                key = {"market_consumer_lag": "lag", "market_outbox_backlog": "backlog"}.get(name)
                if key is not None:
                    row[key] = int(value) + int(row[key] or 0)  # type: ignore[call-overload]
    except httpx.HTTPError:
        pass
    return row


def kafka_nodes(settings: Settings) -> list[dict[str, object]]:
    """Each node of scripts/infra/kafka.sh: its pid (node i > 1 has kafka-i.pid) and whether it answers."""
    rows: list[dict[str, object]] = []
    for i, address in enumerate(kafka_bootstrap(settings).split(","), start=1):
        host, _, port = address.rpartition(":")
        pid_file = settings.state_dir / "kafka" / ("kafka.pid" if i == 1 else f"kafka-{i}.pid")
        pid = int(pid_file.read_text().strip() or 0) if pid_file.exists() else 0
        alive = pid > 0 and os.path.exists(f"/proc/{pid}")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            answers = True
        except OSError:
            answers = False
        rows.append({"replica": f"kafka-{i}", "port": int(port), "pid": pid if alive else None,
                     "ready": alive and answers, "lag": None, "backlog": None})  # fmt: skip
    return rows


def status(settings: Settings) -> tuple[str, bool]:
    """The table, and whether every replica and every Kafka node is up and ready."""
    settings = remembered(settings)
    headers = metrics_headers(settings)
    rows = [probe(settings, r, headers) for r in replicas(settings)] + kafka_nodes(settings)
    lines = [f"{'replica':<16} {'port':>5} {'pid':>8} {'ready':>5} {'lag':>6} {'backlog':>7}"]
    for r in rows:
        show = {k: ("-" if v is None else v) for k, v in r.items()}
        lines.append(
            f"{show['replica']:<16} {show['port']:>5} {show['pid']:>8} {'yes' if r['ready'] else 'no':>5}"
            f" {show['lag']:>6} {show['backlog']:>7}"
        )
    return "\n".join(lines), all(r["ready"] for r in rows)
