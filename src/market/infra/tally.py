"""Statements and COMMITs per database, counted by the SQL adapters and exported as Prometheus counters
(`market_db_statements_total`, `market_db_commits_total`, by database): what `market bench` divides by the
orders of a run. Plain integers on the hot path; the collector reads them when /metrics is scraped."""

from __future__ import annotations

import weakref
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, CounterMetricFamily
from prometheus_client.registry import Collector


class Tally:
    __slots__ = ("__weakref__", "commits", "database", "statements")

    def __init__(self, database: str) -> None:
        self.database = database
        self.statements = 0
        self.commits = 0


_LIVE: weakref.WeakSet[Tally] = weakref.WeakSet()


def tally(database: str) -> Tally:
    """A new tally for a database (kept while its adapter lives)."""
    counts = Tally(database)
    _LIVE.add(counts)
    return counts


class _Collector(Collector):
    def collect(self) -> Iterator[CounterMetricFamily]:
        statements = CounterMetricFamily("market_db_statements", "SQL statements sent", labels=["database"])
        commits = CounterMetricFamily("market_db_commits", "Transactions committed", labels=["database"])
        totals: dict[str, list[int]] = {}
        for t in list(_LIVE):
            got = totals.setdefault(t.database, [0, 0])
            got[0] += t.statements
            got[1] += t.commits
        for database, (s, c) in sorted(totals.items()):
            statements.add_metric([database], s)
            commits.add_metric([database], c)
        yield statements
        yield commits


REGISTRY.register(_Collector())
