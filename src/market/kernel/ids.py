"""Opaque, time-ordered ids: a prefix, 12 hex digits of milliseconds, 10 random hex digits.

Time order lets lists paginate newest-first with a plain `id < cursor`.
"""

from __future__ import annotations

import os
import time

_last_ms = 0
_seq = 0


def new_id(prefix: str) -> str:
    global _last_ms, _seq
    ms = int(time.time() * 1000)
    if ms <= _last_ms:
        # Same millisecond: keep ids increasing within this process.
        _seq += 1
        ms = _last_ms
    else:
        _last_ms, _seq = ms, 0
    return f"{prefix}_{ms:012x}{_seq & 0xFFF:03x}{os.urandom(4).hex()[:7]}"
