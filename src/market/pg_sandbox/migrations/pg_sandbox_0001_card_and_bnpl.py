"""Card payments and their cancels, BNPL contracts, idempotency keys, the faults served."""

from market.infra.migrations import run

revision = "pg_sandbox_0001"
down_revision = None
branch_labels = ("pg_sandbox",)
depends_on = None


def upgrade() -> None:
    run("""
CREATE TABLE sandbox_card_payments (
    payment_key VARCHAR(64) PRIMARY KEY,
    order_id VARCHAR(64) NOT NULL UNIQUE,
    test_key VARCHAR(200) NOT NULL,
    amount BIGINT NOT NULL,
    balance_amount BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    approved_at VARCHAR(32) NOT NULL,
    canceled_at VARCHAR(32)
);
CREATE TABLE sandbox_card_cancels (
    transaction_key VARCHAR(64) PRIMARY KEY,
    payment_key VARCHAR(64) NOT NULL,
    cancel_amount BIGINT NOT NULL,
    cancel_reason VARCHAR(200) NOT NULL,
    refundable_amount BIGINT NOT NULL,
    canceled_at VARCHAR(32) NOT NULL
);
CREATE INDEX sandbox_card_cancels_by_payment ON sandbox_card_cancels (payment_key);
CREATE TABLE sandbox_bnpl_payments (
    contract_id VARCHAR(64) PRIMARY KEY,
    order_id VARCHAR(64) NOT NULL UNIQUE,
    member_id VARCHAR(64) NOT NULL,
    amount BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    approved_at VARCHAR(32) NOT NULL,
    canceled_at VARCHAR(32)
);
CREATE TABLE sandbox_idempotency (
    idem_key VARCHAR(320) PRIMARY KEY,
    status_code INTEGER NOT NULL,
    body LONGTEXT NOT NULL,
    created_at VARCHAR(32) NOT NULL
);
CREATE TABLE sandbox_faults (
    order_id VARCHAR(64) NOT NULL,
    fault VARCHAR(32) NOT NULL,
    served_at VARCHAR(32) NOT NULL,
    PRIMARY KEY (order_id, fault)
)
""")
