"""The notification database (`notification.db` embedded, `market_notification` distributed).

One row per event that calls for a message, keyed by the event id: the row is the consumer's inbox as well
as the message's delivery state, so a duplicate delivery of the event inserts nothing. Timestamps are
ISO-8601 UTC strings (`kernel.clock.iso`), which sort as the instants they name.
"""

from __future__ import annotations

from market.infra.dead_letters import DEAD_LETTERS
from market.infra.jobs import LEASES

NOTIFICATIONS = """
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
"""

MIGRATIONS: list[str] = [NOTIFICATIONS, LEASES, DEAD_LETTERS]
