"""An order's cancellations, whole or partial (SPEC §10.3), as a JSON value of the row; NULL: none yet."""

from market.infra.migrations import run

revision = "order_0009"
down_revision = "order_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""ALTER TABLE orders ADD COLUMN cancellations LONGTEXT NULL""")
