"""The read model's migrations (`reporting.db` embedded, `market_reporting` distributed): its own tables,
fed only by events.

Each order is one row (its record as JSON, and the columns the search filters on), the sellers it has
lines of, and its rows of the sales statistics. Add a revision to change the schema
(`market migrate --new reporting -m "..."`, docs/runbook.md); never edit one that has shipped.
"""

from pathlib import Path

from market.infra.migrations import History

HISTORY = History("reporting", Path(__file__).parent)
