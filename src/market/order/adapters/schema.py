"""The order database: orders (lines, legs and timeline as JSON values of the row) and idempotency keys.

Append a migration to change the schema; never edit one that has shipped."""

from __future__ import annotations

from market.infra.dead_letters import DEAD_LETTERS
from market.infra.jobs import LEASES
from market.infra.migrations import OUTBOX_INBOX, OUTBOX_TRACE, Migration

ORDERS = """
CREATE TABLE orders (
    id VARCHAR(64) PRIMARY KEY,
    member_id VARCHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    total_amount BIGINT NOT NULL,
    items LONGTEXT NOT NULL,
    payments LONGTEXT NOT NULL,
    timeline LONGTEXT NOT NULL,
    failure_reason VARCHAR(255),
    created_at VARCHAR(32) NOT NULL,
    paid_at VARCHAR(32),
    cancelled_at VARCHAR(32),
    updated_at VARCHAR(32) NOT NULL
);
CREATE INDEX orders_member_id ON orders (member_id, id);
CREATE INDEX orders_status ON orders (status);
CREATE TABLE idempotency_keys (
    member_id VARCHAR(64) NOT NULL,
    idem_key VARCHAR(255) NOT NULL,
    fingerprint VARCHAR(64) NOT NULL,
    state VARCHAR(16) NOT NULL,
    status_code INTEGER,
    response_body LONGTEXT,
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL,
    PRIMARY KEY (member_id, idem_key)
);
CREATE INDEX idempotency_keys_state ON idempotency_keys (state, updated_at)
"""

# A placement's key remembers the order it places, for retries and the sweep of crashed placements.
KEY_RESOURCE = "ALTER TABLE idempotency_keys ADD COLUMN resource_id VARCHAR(64) NULL"

# A member's orders of one status, newest first (`GET /orders?status=`), without reading the others.
# The seed's (member_id, created_at) is `orders_member_id` already: ids are time-ordered (docs/scaling.md).
MEMBER_STATUS = "CREATE INDEX orders_member_status ON orders (member_id, status, id)"


# An Idempotency-Key is compared byte for byte (Stripe's keys are case-sensitive): MariaDB's default
# collation (utf8mb4_unicode_ci) took "Ab" and "ab" for one key. SQLite compares bytes already.
BINARY_KEYS: Migration = {
    "mysql": "ALTER TABLE idempotency_keys MODIFY idem_key VARCHAR(255) "
    "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
}

# An order's cancellations, whole or partial (SPEC §10.3), as a JSON value of the row; NULL: none yet.
CANCELLATIONS = "ALTER TABLE orders ADD COLUMN cancellations LONGTEXT NULL"

MIGRATIONS: list[Migration] = [
    OUTBOX_INBOX,
    ORDERS,
    KEY_RESOURCE,
    LEASES,
    DEAD_LETTERS,
    MEMBER_STATUS,
    BINARY_KEYS,
    OUTBOX_TRACE,
    CANCELLATIONS,
]
