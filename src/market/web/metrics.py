"""The HTTP request metrics: counted and timed by route template, on the framework's path and the lanes'."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("market_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "market_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# The labelled children, looked up once per label set (`labels()` takes a lock and builds a key each
# time). Routes are templates, not raw paths, so this stays as small as the route table.
_counters: dict[tuple[str, str, int], Counter] = {}
_timers: dict[tuple[str, str], Histogram] = {}


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """One request answered: counted under (method, route, status) and timed under (method, route)."""
    counter = _counters.get((method, route, status))
    if counter is None:
        counter = _counters[(method, route, status)] = REQUESTS.labels(method, route, str(status))
    timer = _timers.get((method, route))
    if timer is None:
        timer = _timers[(method, route)] = LATENCY.labels(method, route)
    counter.inc()
    timer.observe(seconds)
