"""The product database's migrations (`product.db` embedded, `market_product` distributed), oldest first.

`market audit` reads products.stock / stock_received and reservations by these names. Add a revision to
change the schema (`market migrate --new product -m "..."`, docs/runbook.md); never edit one that has shipped.
"""

from pathlib import Path

from market.infra.migrations import History

HISTORY = History("product", Path(__file__).parent)
