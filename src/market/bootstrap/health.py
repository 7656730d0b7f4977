"""`GET /api/v1/admin/platform`: every replica of every service (ready, outbox backlog, consumer lag) and the
reconciler's state, for the operators' console.

It reads what each process already publishes: its readiness and its Prometheus metrics (the gauges of
`infra.outbox`, `infra.consuming` and the payment service's reconciler), so the console shows what an alert
sees. The embedded mode answers from its own process. In the distributed mode the service that serves the
console (`platform.CONSOLE`) probes every replica that the declaration and `MARKET_REPLICAS` name on this
host, as `market status` does, passing the admin's token on; in a cluster, Prometheus scrapes the pods and
a dashboard is the place for this page (docs/console.md).

No `from __future__ import annotations`: FastAPI must resolve the route's annotations, one local.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from prometheus_client.parser import text_string_to_metric_families

from market import platform
from market.web.auth import Auth, Principal

# (name, labels) → value, of one process's metrics.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
Read = Callable[[str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Probed:
    """One replica as probed: its service, its name, whether it is ready, and its metrics' samples."""

    service: str
    replica: str
    ready: bool
    samples: Samples


def samples_of(metrics_text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics_text)
        for s in family.samples
    }


def _sample(samples: Samples, name: str, **labels: str) -> int | None:
    value = samples.get((name, tuple(sorted(labels.items()))))
    return None if value is None else int(value)


def replica_facts(probed: Probed) -> dict[str, Any]:
    """A replica's row: backlog only for a service that produces, lag only for one that consumes."""
    declared = platform.service(probed.service)
    return {
        "replica": probed.replica,
        "ready": probed.ready,
        "outbox_backlog": _sample(probed.samples, "market_outbox_backlog", service=probed.service)
        if declared.produces
        else None,
        "consumer_lag": _sample(probed.samples, "market_consumer_lag", group=probed.service)
        if declared.consumes
        else None,
    }


def reconciler_facts(probed: Sequence[Probed]) -> dict[str, Any] | None:
    """The reconciler as the replica that ran it last saw it (one replica at a time holds its lease)."""
    runs = [(p.samples.get(("market_reconciler_last_run_seconds", ())), p) for p in probed]
    ran = [(at, p) for at, p in runs if at]
    if not ran:
        return None
    at, last = max(ran, key=lambda run: run[0])
    in_flight = {
        dict(labels)["status"]: int(value)
        for (name, labels), value in last.samples.items()
        if name == "market_payments_in_flight"
    }
    oldest = last.samples.get(("market_payments_oldest_in_flight_update_seconds", ()))
    return {
        "replica": last.replica,
        "last_run_at": _iso(at),
        "in_flight": in_flight,
        "lease_expired": _sample(last.samples, "market_payments_lease_expired"),
        "resumed_last_run": _sample(last.samples, "market_reconciler_resumed"),
        "oldest_in_flight_update": _iso(oldest) if oldest else None,
    }


def platform_view(probed: Sequence[Probed]) -> dict[str, Any]:
    """The answer: the services in declaration order, each with its replicas, and the reconciler."""
    return {
        "services": [
            {"name": s.name, "replicas": [replica_facts(p) for p in probed if p.service == s.name]}
            for s in platform.SERVICES
        ],
        "reconciler": reconciler_facts([p for p in probed if p.service == "payment"]),
    }


async def probe_replicas(targets: Sequence[tuple[str, str, str]], authorization: str) -> list[Probed]:
    """Probe each (service, replica, base URL) over HTTP: its /readyz and its /metrics (with the token)."""
    async with httpx.AsyncClient(timeout=2.0, headers={"Authorization": authorization}) as http:

        async def one(service: str, replica: str, base: str) -> Probed:
            try:
                ready = (await http.get(f"{base}/readyz")).status_code == 200
                metrics = await http.get(f"{base}/metrics")
                metrics.raise_for_status()
                return Probed(service, replica, ready, samples_of(metrics.text))
            except httpx.HTTPError:
                return Probed(service, replica, False, {})

        return list(await asyncio.gather(*(one(*target) for target in targets)))


def router(read: Read, auth: Auth) -> APIRouter:
    r = APIRouter(tags=["operations"])
    Admin = Annotated[Principal, Depends(auth.admin)]

    @r.get("/admin/platform", summary="Every service's replicas and the reconciler, for the console")
    async def platform_status(request: Request, principal: Admin) -> dict[str, Any]:
        """Per service and replica: ready, outbox backlog (a producer), consumer lag (a consumer); and the
        reconciler's last run: payments in flight by status, those whose lease expired."""
        return await read(request.headers.get("authorization", ""))

    return r


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")
