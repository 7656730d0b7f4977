"""The collector's settings for a serving process, applied once its start-up is done.

CPython's cyclic collector runs a young collection every 700 new container objects and, now and then, a full
one over every object alive. Under `market bench` (20 s, 32 clients) the embedded server spent 1.0 s in it:
741 young collections, 68 middle ones and 6 full ones of up to 55 ms. A full collection stops every request
in flight, so it lands straight in the accept latency's tail. What a server holds after start-up (modules,
routes, models, settings) lives as long as the process: `gc.freeze()` takes it out of every later
collection, and a young generation of 10,000 objects makes collections rare (3 in a run like it, 11 ms in
all; docs/performance.md). Reference counting frees nearly everything a request makes; the collector only
finds cycles, so those wait a little longer, nothing more.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 20, 20)


def settle() -> None:
    """Collect the start-up's garbage, freeze what survives, and make later collections rarer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
