"""The payment database's migrations (`payment.db` embedded, `market_payment` distributed), oldest first:
payments, coupon definitions, issued coupons, outbox, inbox.

Add a revision to change the schema (`market migrate --new payment -m "..."`, docs/runbook.md); never edit
one that has shipped.
"""

from pathlib import Path

from market.infra.migrations import History

HISTORY = History("payment", Path(__file__).parent)
