"""The order database's migrations (`order.db` embedded, `market_order` distributed), oldest first: orders
(lines, legs and timeline as JSON values of the row), idempotency keys, outbox and inbox.

Add a revision to change the schema (`market migrate --new order -m "..."`, docs/runbook.md); never edit
one that has shipped.
"""

from pathlib import Path

from market.infra.migrations import History

HISTORY = History("order", Path(__file__).parent)
