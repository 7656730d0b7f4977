"""The result of a run: a JSON document (`--output`) and the text summary printed at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from market_bench.load import Recorder
from market_bench.stats import latency_ms, per_second, rate


def series(rec: Recorder) -> list[dict[str, Any]]:
    """Per second of the order phase: accepted and settled counts with their p50/p99 latencies (ms)."""
    accepted = per_second(rec.accepts, rec.ended)
    settled = per_second(rec.settles, rec.ended)
    return [
        {
            "t": a.t,
            "width_s": a.width,
            "accepted": a.count,
            "settled": s.count,
            "accept_p50_ms": a.p50_ms,
            "accept_p99_ms": a.p99_ms,
            "settle_p50_ms": s.p50_ms,
            "settle_p99_ms": s.p99_ms,
        }
        for a, s in zip(accepted, settled, strict=True)
    ]


def _split(events: list[tuple[float, float]], start: float) -> tuple[list[float], list[float]]:
    """The latencies of (ended at, latency) events: those that ended from `start` on, and those before."""
    measured: list[float] = []
    warmup: list[float] = []
    for ended_at, latency in events:
        (measured if ended_at >= start else warmup).append(latency)
    return measured, warmup


def result(
    run: dict[str, Any],
    orders: Recorder,
    ceiling: Recorder,
    audit: dict[str, Any],
    processes: list[dict[str, Any]],
) -> dict[str, Any]:
    """Everything the run measured. The order figures count what ended after the warm-up (an order
    POSTed during it and answered after counts, slow as it was); rates are those counts over the wall
    time from the warm-up's end to the phase's end (drain included). The warm-up has its own figures;
    errors, outcomes and plans count the whole phase."""
    start = orders.measured_from
    accepts, warm_accepts = _split(orders.accepts, start)
    settles, warm_settles = _split(orders.settles, start)
    accepted_per_s = rate(len(accepts), orders.ended - start)
    settled_per_s = rate(len(settles), orders.ended - start)
    ceiling_per_s = rate(len(ceiling.accepts), ceiling.ended)
    for p in processes:  # CPU per settled order of the measured part, in ms
        p["cpu_ms_per_order"] = round(1000 * p["cpu_s"] / len(settles), 3) if settles else 0.0
    platform = [p for p in processes if not p["name"].startswith("bench")]
    return {
        **run,
        "elapsed_s": round(orders.ended, 2),
        "measured_s": round(orders.ended - start, 2),
        "orders": {"placed": orders.posted, "accepted": len(accepts), "settled": len(settles)},
        "accepted_per_s": accepted_per_s,
        "settled_per_s": settled_per_s,
        "cpu_ms_per_order": round(sum(p["cpu_ms_per_order"] for p in platform), 3),
        "accept_latency_ms": latency_ms(accepts),
        "settle_latency_ms": latency_ms(settles),
        "warmup": {
            "accepted": len(warm_accepts),
            "settled": len(warm_settles),
            "accept_latency_ms": latency_ms(warm_accepts),
            "settle_latency_ms": latency_ms(warm_settles),
        },
        "errors": dict(orders.errors.most_common()),
        "outcomes": dict(orders.outcomes.most_common()),
        "plans": dict(orders.plans.most_common()),
        "ceiling_per_s": ceiling_per_s,
        "ceiling_s": round(ceiling.ended, 2),
        "ceiling_latency_ms": latency_ms([lat for _, lat in ceiling.accepts]),
        "ceiling_errors": dict(ceiling.errors.most_common()),
        # settled/s over the same run's ceiling: the share of the server stack's ceiling the orders reach
        "ratio": round(settled_per_s / ceiling_per_s, 4) if ceiling_per_s else 0.0,
        "audit": audit,
        "processes": processes,
        "series": series(orders),
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


def _latency_row(name: str, figures: dict[str, float]) -> str:
    return f"  {name:<22} {figures['p50']:>9.1f} {figures['p95']:>9.1f} {figures['p99']:>9.1f} {figures['max']:>9.1f}"


def _processes(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"  {'process':<28} {'pid':>8} {'CPU s':>8} {'ms/order':>9} {'% core':>7} {'ceiling CPU s':>14}"
        f" {'peak RSS MiB':>13}"
    ]
    for p in rows:
        rss = "?" if p["peak_rss_mb"] is None else f"{p['peak_rss_mb']:.1f}"
        lines.append(
            f"  {p['name']:<28} {p['pid']:>8} {p['cpu_s']:>8.2f} {p.get('cpu_ms_per_order', 0.0):>9.3f}"
            f" {p['cpu_percent']:>7.1f} {p.get('ceiling_cpu_s', 0.0):>14.2f} {rss:>13}"
        )
    return lines


def _database(figures: dict[str, Any]) -> list[str]:
    if not figures:
        return ["  database: not measured (no /metrics of the platform's processes)"]
    each = ", ".join(f"{db} {n:.2f}" for db, n in figures["commits_by_database"].items())
    return [
        f"  statements per order {figures['statements_per_order']:.1f}, COMMITs per order "
        f"{figures['commits_per_order']:.2f} ({each})"
    ]


def summary(doc: dict[str, Any]) -> str:
    """The small table printed at the end of a run."""
    o = doc["orders"]
    w = doc["warmup"]
    lines = [
        f"market bench: {doc['target']} ({doc['mode']}), {doc['clients']} clients, {doc['elapsed_s']} s, "
        f"{doc['members']} members",
        f"  warm-up {doc['warmup_s']:g} s, not in the figures below: accepted {w['accepted']}, "
        f"settled {w['settled']}, accept p99 {w['accept_latency_ms']['p99']:.1f} ms",
        f"  measured {doc['measured_s']} s: orders placed {o['placed']} (warm-up included), "
        f"accepted {o['accepted']}, settled {o['settled']}",
        f"  accepted/s {doc['accepted_per_s']:>9.1f}    settled/s {doc['settled_per_s']:>9.1f}",
        f"  ceiling/s  {doc['ceiling_per_s']:>9.1f}    (POST /api/v1/echo, {doc['ceiling_s']} s)"
        f"    ratio settled/ceiling {doc['ratio']:.3f}",
        f"  CPU per settled order, the platform's processes: {doc['cpu_ms_per_order']:.2f} ms",
        f"  {'latency ms':<22} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}",
        _latency_row("accept (POST 201)", doc["accept_latency_ms"]),
        _latency_row("settle (POST..PAID)", doc["settle_latency_ms"]),
        _latency_row("ceiling (echo)", doc["ceiling_latency_ms"]),
        "  plans:    " + ", ".join(f"{k} {v}" for k, v in doc["plans"].items()),
        "  outcomes: " + ", ".join(f"{k} {v}" for k, v in doc["outcomes"].items()),
        "  errors:   " + (", ".join(f"{k}: {v}" for k, v in doc["errors"].items()) or "none"),
        *_processes(doc["processes"]),
        *_database(doc.get("database") or {}),
    ]
    if not doc.get("platform_measured", True):
        lines.append("  (platform processes not measured: no --mode or --pid)")
    audit = doc["audit"]
    verdict = {True: "PASSED", False: "FAILED", None: "not run (no --mode or --audit-cmd)"}[audit["ok"]]
    lines.append(f"  audit: {verdict}" + (f" — {audit['summary']}" if audit.get("summary") else ""))
    lines += [f"    - {v}" for v in audit["violations"]]
    return "\n".join(lines)
