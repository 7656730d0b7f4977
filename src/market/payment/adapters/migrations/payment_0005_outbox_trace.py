"""The outbox carries the traceparent of the context that wrote each event (infra.tracing)."""

from market.infra.migrations import OUTBOX_TRACE, run

revision = "payment_0005"
down_revision = "payment_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run(OUTBOX_TRACE)
