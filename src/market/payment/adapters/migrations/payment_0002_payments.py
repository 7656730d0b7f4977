"""The payments, the coupon definitions and the issued coupons."""

from market.infra.migrations import run

revision = "payment_0002"
down_revision = "payment_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""
CREATE TABLE payments (
    order_id VARCHAR(64) PRIMARY KEY,
    member_id VARCHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    total_amount BIGINT NOT NULL,
    legs LONGTEXT NOT NULL,
    failure_reason VARCHAR(64),
    attempts INTEGER NOT NULL,
    lease_until VARCHAR(32),
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL,
    completed_at VARCHAR(32),
    refunded_at VARCHAR(32)
);
CREATE INDEX payments_by_lease ON payments (status, lease_until);
CREATE TABLE coupon_definitions (
    id VARCHAR(64) PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    discount_type VARCHAR(16) NOT NULL,
    discount_value BIGINT NOT NULL,
    max_discount BIGINT,
    min_order_amount BIGINT NOT NULL,
    valid_from VARCHAR(32) NOT NULL,
    valid_until VARCHAR(32) NOT NULL,
    created_at VARCHAR(32) NOT NULL
);
CREATE TABLE issued_coupons (
    id VARCHAR(64) PRIMARY KEY,
    coupon_id VARCHAR(64) NOT NULL,
    member_id VARCHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    order_id VARCHAR(64),
    issued_at VARCHAR(32) NOT NULL,
    used_at VARCHAR(32)
);
CREATE INDEX issued_coupons_by_member ON issued_coupons (member_id, id)
""")
