"""The orders (lines, legs and timeline as JSON values of the row) and the idempotency keys."""

from market.infra.migrations import run

revision = "order_0002"
down_revision = "order_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""
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
""")
