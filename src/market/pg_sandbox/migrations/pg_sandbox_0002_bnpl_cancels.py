"""BNPL contracts cancelled in part (SPEC §10.3): a balance, and their cancels listed like a card's."""

from market.infra.migrations import run

revision = "pg_sandbox_0002"
down_revision = "pg_sandbox_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""
ALTER TABLE sandbox_bnpl_payments ADD COLUMN balance_amount BIGINT NULL;
CREATE TABLE sandbox_bnpl_cancels (
    transaction_key VARCHAR(64) PRIMARY KEY,
    contract_id VARCHAR(64) NOT NULL,
    cancel_amount BIGINT NOT NULL,
    cancel_reason VARCHAR(200) NOT NULL,
    refundable_amount BIGINT NOT NULL,
    canceled_at VARCHAR(32) NOT NULL
);
CREATE INDEX sandbox_bnpl_cancels_by_contract ON sandbox_bnpl_cancels (contract_id)
""")
