"""The outbox carries the traceparent of the context that wrote each event (infra.tracing)."""

from market.infra.migrations import OUTBOX_TRACE, run

revision = "order_0008"
down_revision = "order_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run(OUTBOX_TRACE)
