"""The campaign's schedule, drawn from its seed alone: the same seed, the same faults at the same times."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the load starts
    kind: str  # kill | kafka-restart | mariadb-restart
    target: str = ""  # the replica killed ("order-1")
    down_for: float = 1.0  # seconds before it is started again


@dataclass(frozen=True)
class Campaign:
    seed: int
    orders: int
    span: float  # the faults fall within this many seconds of load
    kills: int = 20
    kafka_restarts: int = 2
    mariadb_restarts: int = 1
    pg_server_errors: float = 0.05
    pg_answers_lost: float = 0.03
    duplicates: float = 0.10

    def schedule(self, replicas: list[str]) -> list[Fault]:
        """Kills of random replicas, broker and database restarts, spread over the span, in time order;
        infrastructure restarts spread evenly, so one has recovered before the next (`span_for`)."""
        rng = random.Random(self.seed)
        faults = [
            Fault(
                round(rng.uniform(1, self.span), 2),
                "kill",
                rng.choice(replicas),
                round(rng.uniform(0.5, 3), 2),
            )
            for _ in range(self.kills)
        ]
        kinds = ["kafka-restart"] * self.kafka_restarts + ["mariadb-restart"] * self.mariadb_restarts
        rng.shuffle(kinds)
        step = self.span / (len(kinds) + 1)
        faults += [
            Fault(round(step * (i + 1) + rng.uniform(-step / 6, step / 6), 2), kind, kind.split("-")[0], 2.0)
            for i, kind in enumerate(kinds)
        ]
        return sorted(faults, key=lambda f: f.at)

    def describe(self) -> dict[str, object]:
        return asdict(self)


def span_for(orders: int, infrastructure_restarts: int, rate: float = 8.0) -> float:
    """Long enough for the orders at `rate` a second and for each restart to recover before the next.

    The rate stays under what the platform settles on the machine while it is being struck, so that the
    faults, not a backlog of load beyond its capacity, decide when the last order settles."""
    return max(30.0, orders / rate, 15.0 * (infrastructure_restarts + 1))
