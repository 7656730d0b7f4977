"""Pure figures from what the clients saw: percentiles, latency summaries and per-second series."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolating between closest ranks; 0.0 when there are no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99, mean and max of latencies given in seconds, in milliseconds (rounded to 0.1 ms)."""
    ms = [s * 1000 for s in seconds]
    figures = {
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "mean": sum(ms) / len(ms) if ms else 0.0,
        "max": max(ms, default=0.0),
    }
    return {k: round(v, 1) for k, v in figures.items()}


@dataclass(frozen=True)
class Second:
    """One second of a run (the last one may be shorter: `width` seconds): how many events ended in it,
    and the p50/p99 latency (ms) of those events, None when there were none."""

    t: int
    width: float
    count: int
    p50_ms: float | None
    p99_ms: float | None

    @property
    def per_s(self) -> float:
        return self.count / self.width if self.width > 0 else 0.0


def per_second(events: Iterable[tuple[float, float]], seconds: float) -> list[Second]:
    """Buckets (ended_at, latency) pairs, both in seconds from the run's start, into the seconds of
    [0, seconds); an event at or after the end counts in the last bucket."""
    count = max(1, math.ceil(seconds))
    buckets: list[list[float]] = [[] for _ in range(count)]
    for ended_at, latency in events:
        buckets[min(max(int(ended_at), 0), count - 1)].append(latency * 1000)
    return [
        Second(
            t,
            round(min(1.0, seconds - t), 3) if seconds > t else 1.0,
            len(b),
            round(percentile(b, 50), 1) if b else None,
            round(percentile(b, 99), 1) if b else None,
        )
        for t, b in enumerate(buckets)
    ]


def rate(count: int, seconds: float) -> float:
    """Events per second, rounded to 0.1; 0.0 for an empty interval."""
    return round(count / seconds, 1) if seconds > 0 else 0.0
