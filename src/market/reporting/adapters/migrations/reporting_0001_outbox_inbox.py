"""The inbox records each event read (its outbox stays empty: the read model announces nothing)."""

from market.infra.migrations import OUTBOX_INBOX, run

revision = "reporting_0001"
down_revision = None
branch_labels = ("reporting",)
depends_on = None


def upgrade() -> None:
    run(OUTBOX_INBOX)
