"""A PNG of the order phase: throughput per second, and accept/settle latency p50/p99 per second."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

LATENCIES = (("accept_p50_ms", "accept p50", "-"), ("accept_p99_ms", "accept p99", "--"),
             ("settle_p50_ms", "settle p50", "-"), ("settle_p99_ms", "settle p99", "--"))  # fmt: skip


def draw(path: Path, doc: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    # A last second cut short by the drain would read as a collapse: leave it out.
    series = [s for s in doc["series"] if s["width_s"] >= 0.5]
    t = [s["t"] + s["width_s"] / 2 for s in series]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    top.plot(t, [s["accepted"] / s["width_s"] for s in series], label="accepted / s")
    top.plot(t, [s["settled"] / s["width_s"] for s in series], label="settled / s")
    top.set_ylabel("orders per second")
    top.set_ylim(bottom=0)
    top.legend(loc="lower right")
    audit = {True: "passed", False: "FAILED", None: "not run"}[doc["audit"]["ok"]]
    if doc.get("warmup_s"):
        top.text(doc["warmup_s"] / 2, 0, "warm-up", ha="center", va="bottom", fontsize=8, color="grey")
    top.set_title(
        f"market bench — {doc['mode']}, {doc['clients']} clients: {doc['accepted_per_s']:.1f} accepted/s; "
        f"ceiling {doc['ceiling_per_s']:.0f}/s (ratio {doc['ratio']:.3f}); audit {audit}"
    )
    for key, label, style in LATENCIES:
        bottom.plot(t, [math.nan if s[key] is None else s[key] for s in series], style, label=label)
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds into the order phase")
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper right")
    for axes in (top, bottom):
        axes.grid(alpha=0.3)
        if doc.get("warmup_s"):
            axes.axvspan(0, doc["warmup_s"], color="grey", alpha=0.15, lw=0)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
