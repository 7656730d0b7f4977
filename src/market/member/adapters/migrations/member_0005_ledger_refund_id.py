"""A ledger row per kind and refund: partial cancellations refund an order's points more than once.

An order's ledger rows are unique per kind and refund id ('' for all but a partial refund, SPEC §10.3).
SQLite cannot drop a table's unique constraint, so the ledger is rebuilt, the same way on both databases."""

from market.infra.migrations import run

revision = "member_0005"
down_revision = "member_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""
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
""")
