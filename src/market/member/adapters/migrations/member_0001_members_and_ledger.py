"""The members and their points ledger."""

from market.infra.migrations import run

revision = "member_0001"
down_revision = None
branch_labels = ("member",)
depends_on = None


def upgrade() -> None:
    run("""
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
""")
