"""Faults the sandbox injects on request (`market chaos`): a share of confirms answered 5xx once, and a
share charged with the answer lost, each chosen by a seed and the order id, so a seed replays the same."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Faults:
    seed: int = 0
    server_error: float = 0.0  # this share of orders: their first confirm answers 500, nothing done
    answer_lost: float = 0.0  # this share: charged, the answer lost (the client must look it up)

    def of(self, order_id: str) -> str | None:
        """The fault this order's confirm gets: "5xx", "lost" or None."""
        if not (self.server_error or self.answer_lost):
            return None
        digest = hashlib.sha256(f"{self.seed}/{order_id}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        if draw < self.server_error:
            return "5xx"
        if draw < self.server_error + self.answer_lost:
            return "lost"
        return None
