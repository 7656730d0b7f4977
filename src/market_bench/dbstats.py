"""Statements and COMMITs the platform's databases served, read from the `market_db_statements_total` and
`market_db_commits_total` counters of every platform process's /metrics (`market.infra.tally`)."""

from __future__ import annotations

import re

from aiohttp import ClientError, ClientSession

_SAMPLE = re.compile(r'^market_db_(statements|commits)_total\{database="([^"]+)"\} ([0-9.e+]+)$', re.M)


async def read(http: ClientSession, urls: list[str], auth: str) -> dict[str, dict[str, float]]:
    """{"statements": {database: n}, "commits": {database: n}} summed over `urls` (their /metrics)."""
    totals: dict[str, dict[str, float]] = {"statements": {}, "commits": {}}
    for url in urls:
        try:
            async with http.get(f"{url}/metrics", headers={"Authorization": auth}) as r:
                text = await r.text() if r.status == 200 else ""
        except ClientError:
            continue
        for kind, database, value in _SAMPLE.findall(text):
            totals[kind][database] = totals[kind].get(database, 0.0) + float(value)
    return totals


def per_order(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], orders: int
) -> dict[str, object]:
    """What the run added, per settled order: in total and by database."""
    if orders <= 0:
        return {}
    figures: dict[str, object] = {}
    for kind in ("statements", "commits"):
        by_db = {
            db: round((n - before[kind].get(db, 0.0)) / orders, 2) for db, n in sorted(after[kind].items())
        }
        figures[f"{kind}_per_order"] = round(sum(by_db.values()), 2)
        figures[f"{kind}_by_database"] = by_db
    return figures
