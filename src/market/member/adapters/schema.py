"""The member database. `market audit` reads members.point_balance and point_ledger by these names."""

from __future__ import annotations

from market.infra.jobs import LEASES

MEMBERS_AND_LEDGER = """
CREATE TABLE members (
    id VARCHAR(64) PRIMARY KEY,
    email VARCHAR(254) NOT NULL,
    name VARCHAR(100) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    role VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    point_balance BIGINT NOT NULL CHECK (point_balance >= 0),
    created_at VARCHAR(32) NOT NULL,
    CONSTRAINT uq_members_email UNIQUE (email)
);
CREATE TABLE point_ledger (
    id VARCHAR(64) PRIMARY KEY,
    member_id VARCHAR(64) NOT NULL,
    delta BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    reason VARCHAR(200) NOT NULL,
    order_id VARCHAR(64),
    kind VARCHAR(16) NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    CONSTRAINT uq_point_ledger_order_kind UNIQUE (order_id, kind)
);
CREATE INDEX ix_point_ledger_member ON point_ledger (member_id, id)
"""

# The language of the member's messages (notification e-mails): ko or en.
MEMBER_LOCALE = """
ALTER TABLE members ADD COLUMN locale VARCHAR(8) NOT NULL DEFAULT 'ko'
"""

# Login and sign-up attempts per key ("login:<email>", "login-from:<address>", "sign-up:<address>") and
# fixed window (its start, ISO-8601 UTC): the throttle of SPEC §10.5, shared by every replica.
ATTEMPTS = """
CREATE TABLE attempts (
    attempt_key VARCHAR(300) NOT NULL,
    window_start VARCHAR(32) NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (attempt_key, window_start)
);
CREATE INDEX ix_attempts_window ON attempts (window_start)
"""

# Partial cancellations refund an order's points more than once (SPEC §10.3): an order's ledger rows are
# unique per kind and refund id ('' for all but a partial refund). SQLite cannot drop a table's unique
# constraint, so the ledger is rebuilt, the same way on both databases.
LEDGER_REFUND_ID = """
CREATE TABLE point_ledger_next (
    id VARCHAR(64) PRIMARY KEY,
    member_id VARCHAR(64) NOT NULL,
    delta BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    reason VARCHAR(200) NOT NULL,
    order_id VARCHAR(64),
    kind VARCHAR(16) NOT NULL,
    refund_id VARCHAR(64) NOT NULL DEFAULT '',
    created_at VARCHAR(32) NOT NULL,
    CONSTRAINT uq_point_ledger_movement UNIQUE (order_id, kind, refund_id)
);
INSERT INTO point_ledger_next (id, member_id, delta, balance_after, reason, order_id, kind, refund_id, created_at)
    SELECT id, member_id, delta, balance_after, reason, order_id, kind, '', created_at FROM point_ledger;
DROP TABLE point_ledger;
ALTER TABLE point_ledger_next RENAME TO point_ledger;
CREATE INDEX ix_point_ledger_member ON point_ledger (member_id, id)
"""

MIGRATIONS: list[str] = [MEMBERS_AND_LEDGER, LEASES, MEMBER_LOCALE, ATTEMPTS, LEDGER_REFUND_ID]
