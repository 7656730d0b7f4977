"""A placement's key remembers the order it places, for retries and the sweep of crashed placements."""

from market.infra.migrations import run

revision = "order_0003"
down_revision = "order_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""ALTER TABLE idempotency_keys ADD COLUMN resource_id VARCHAR(64) NULL""")
