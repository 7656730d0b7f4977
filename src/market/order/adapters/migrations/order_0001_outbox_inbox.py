"""The outbox (the events this service announces) and the inbox (the events it consumed)."""

from market.infra.migrations import OUTBOX_INBOX, run

revision = "order_0001"
down_revision = None
branch_labels = ("order",)
depends_on = None


def upgrade() -> None:
    run(OUTBOX_INBOX)
