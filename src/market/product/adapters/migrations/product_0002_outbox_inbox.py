"""The inbox (the order events consumed) and the outbox (the catalog's changes, product.events)."""

from market.infra.migrations import OUTBOX_INBOX, run

revision = "product_0002"
down_revision = "product_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run(OUTBOX_INBOX)
