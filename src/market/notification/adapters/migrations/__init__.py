"""The notification database's migrations (`notification.db` embedded, `market_notification` distributed).

One row per event that calls for a message, keyed by the event id: the row is the consumer's inbox as well
as the message's delivery state, so a duplicate delivery of the event inserts nothing. Timestamps are
ISO-8601 UTC strings (`kernel.clock.iso`), which sort as the instants they name. Add a revision to change
the schema (`market migrate --new notification -m "..."`, docs/runbook.md); never edit one that has shipped.
"""

from pathlib import Path

from market.infra.migrations import History

HISTORY = History("notification", Path(__file__).parent)
