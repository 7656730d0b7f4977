"""One row per event that calls for a message: the consumer's inbox and the message's delivery state."""

from market.infra.migrations import run

revision = "notification_0001"
down_revision = None
branch_labels = ("notification",)
depends_on = None


def upgrade() -> None:
    run("""
CREATE TABLE notifications (
    event_id VARCHAR(36) PRIMARY KEY,
    kind VARCHAR(32) NOT NULL,
    order_id VARCHAR(64) NOT NULL,
    member_id VARCHAR(64) NOT NULL,
    facts LONGTEXT NOT NULL,
    occurred_at VARCHAR(32) NOT NULL,
    state VARCHAR(16) NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at VARCHAR(32) NOT NULL,
    claimed_by VARCHAR(128),
    claim_until VARCHAR(32),
    sent_at VARCHAR(32),
    last_error VARCHAR(255)
);
CREATE INDEX ix_notifications_due ON notifications (state, next_attempt_at)
""")
