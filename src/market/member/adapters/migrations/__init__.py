"""The member database's migrations (`member.db` embedded, `market_member` distributed), oldest first.

`market audit` reads members.point_balance and point_ledger by these names. Add a revision to change the
schema (`market migrate --new member -m "..."`, docs/runbook.md); never edit one that has shipped.
"""

from pathlib import Path

from market.infra.migrations import History

HISTORY = History("member", Path(__file__).parent)
