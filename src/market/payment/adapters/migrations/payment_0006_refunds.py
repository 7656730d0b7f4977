"""A payment's refunds, the whole order's or a partial cancellation's (SPEC §10.3), as a JSON value of the row."""

from market.infra.migrations import run

revision = "payment_0006"
down_revision = "payment_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""ALTER TABLE payments ADD COLUMN refunds LONGTEXT NULL""")
