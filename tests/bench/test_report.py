"""The bench's result document on fixed data: the warm-up's orders are reported apart from the measured ones."""

from __future__ import annotations

from collections import Counter

from market_bench.load import Recorder
from market_bench.report import result, summary

AUDIT = {"ok": True, "violations": [], "summary": "every invariant holds", "command": "market audit"}
RUN = {"target": "http://127.0.0.1:1", "mode": "target", "clients": 2, "members": 4, "duration_s": 3.0,
       "warmup_s": 2.0, "order_limit": None, "platform_measured": False}  # fmt: skip


def _orders() -> Recorder:
    rec = Recorder(started=0.0)
    # (answered at, latency): two cold answers inside the warm-up, one slow POST of the warm-up answered
    # after it, then three steady ones.
    rec.accepts = [(0.5, 0.500), (1.5, 0.900), (2.1, 1.200), (2.5, 0.050), (3.5, 0.060), (4.5, 0.070)]
    rec.settles = [(1.9, 1.400), (2.6, 0.800), (3.8, 0.300), (4.9, 0.400)]
    rec.errors = Counter({"409 OUT_OF_STOCK": 1})
    rec.posted, rec.measured_from, rec.ended = 7, 2.0, 5.0
    return rec


def _ceiling() -> Recorder:
    rec = Recorder(started=0.0)
    rec.accepts, rec.ended = [(0.1, 0.002)] * 20, 2.0
    return rec


def test_figures_count_only_what_ended_after_the_warm_up() -> None:
    doc = result(RUN, _orders(), _ceiling(), AUDIT, [])

    assert doc["measured_s"] == 3.0 and doc["elapsed_s"] == 5.0
    assert doc["orders"] == {"placed": 7, "accepted": 4, "settled": 3}
    assert doc["accepted_per_s"] == 1.3  # 4 answers in the 3 s after the warm-up, not 6 in 5 s
    assert doc["settled_per_s"] == 1.0
    # The warm-up's slow POST answered at 2.1 s counts among the measured: a warm-up hides nothing
    # that ends after it.
    assert doc["accept_latency_ms"]["max"] == 1200.0
    assert doc["settle_latency_ms"]["max"] == 800.0
    assert doc["ratio"] == round(1.0 / 10.0, 4)  # settled/s over the ceiling's requests/s


def test_the_warm_up_has_figures_of_its_own_and_errors_count_the_whole_phase() -> None:
    doc = result(RUN, _orders(), _ceiling(), AUDIT, [])

    assert doc["warmup"]["accepted"] == 2 and doc["warmup"]["settled"] == 1
    assert doc["warmup"]["accept_latency_ms"]["max"] == 900.0
    assert doc["warmup"]["settle_latency_ms"]["p50"] == 1400.0
    assert doc["errors"] == {"409 OUT_OF_STOCK": 1}
    text = summary(doc)
    assert "warm-up 2 s, not in the figures below: accepted 2, settled 1, accept p99 896.0 ms" in text
    assert "measured 3.0 s: orders placed 7 (warm-up included), accepted 4, settled 3" in text


def test_without_a_warm_up_every_order_is_measured() -> None:
    rec = _orders()
    rec.measured_from = 0.0
    doc = result({**RUN, "warmup_s": 0.0}, rec, _ceiling(), AUDIT, [])

    assert doc["orders"]["accepted"] == 6 and doc["warmup"]["accepted"] == 0
    assert doc["accepted_per_s"] == 1.2
    assert doc["warmup"]["accept_latency_ms"]["p99"] == 0.0
