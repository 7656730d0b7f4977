"""The bench's figures on fixed data: percentiles, latency summaries, per-second series."""

from __future__ import annotations

import pytest

from market_bench.stats import latency_ms, per_second, percentile, rate


def test_percentiles_interpolate_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100, given unsorted below
    shuffled = values[50:] + values[:50]
    assert percentile(shuffled, 50) == pytest.approx(50.5)
    assert percentile(shuffled, 99) == pytest.approx(99.01)
    assert percentile(shuffled, 0) == 1.0 and percentile(shuffled, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


def test_latency_summary_is_in_milliseconds() -> None:
    figures = latency_ms([0.010, 0.020, 0.030, 0.040, 1.0])
    assert figures == {"p50": 30.0, "p95": 808.0, "p99": 961.6, "mean": 220.0, "max": 1000.0}
    assert latency_ms([]) == {"p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0, "max": 0.0}


def test_per_second_series_buckets_events_by_the_second_they_ended_in() -> None:
    events = [(0.2, 0.010), (0.7, 0.030), (2.5, 0.020), (3.05, 0.100), (9.0, 0.050)]
    seconds = per_second(events, 3.5)
    assert [(s.t, s.width, s.count) for s in seconds] == [(0, 1.0, 2), (1, 1.0, 0), (2, 1.0, 1), (3, 0.5, 2)]
    assert (seconds[0].p50_ms, seconds[0].p99_ms) == (20.0, 29.8)
    assert (seconds[1].p50_ms, seconds[1].p99_ms) == (None, None)  # nothing ended: a gap, not a zero
    assert seconds[3].per_s == 4.0  # a late event counts in the last, shorter second


def test_an_empty_run_still_has_one_second_and_no_rate() -> None:
    assert [(s.count, s.p50_ms) for s in per_second([], 0.0)] == [(0, None)]
    assert rate(10, 0.0) == 0.0 and rate(10, 4.0) == 2.5
