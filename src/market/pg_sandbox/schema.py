"""The sandbox's own database: card payments and their cancels, BNPL contracts, idempotency keys, faults served."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    """
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
""",
    # BNPL contracts cancelled in part (SPEC §10.3): a balance, and their cancels listed like a card's.
    """
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
""",
]
