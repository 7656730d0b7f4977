"""A member's orders of one status, newest first (`GET /orders?status=`), without reading the others.

The seed's (member_id, created_at) is `orders_member_id` already: ids are time-ordered (docs/scaling.md)."""

from market.infra.migrations import run

revision = "order_0006"
down_revision = "order_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""CREATE INDEX orders_member_status ON orders (member_id, status, id)""")
