"""The orders (record as JSON, and the columns the search filters on), their sellers, the sales statistics."""

from market.infra.migrations import run

revision = "reporting_0002"
down_revision = "reporting_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""
CREATE TABLE report_orders (
    id VARCHAR(64) PRIMARY KEY,
    member_id VARCHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at VARCHAR(32),
    updated_at VARCHAR(32) NOT NULL,
    record LONGTEXT
);
CREATE INDEX report_orders_member ON report_orders (member_id, id);
CREATE INDEX report_orders_status ON report_orders (status, id);
CREATE INDEX report_orders_in_flight ON report_orders (status, updated_at);
CREATE INDEX report_orders_created ON report_orders (created_at);
CREATE TABLE report_order_sellers (
    seller_id VARCHAR(64) NOT NULL,
    order_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (seller_id, order_id)
);
CREATE INDEX report_order_sellers_order ON report_order_sellers (order_id);
CREATE TABLE report_sales (
    order_id VARCHAR(64) NOT NULL,
    seller_id VARCHAR(64) NOT NULL,
    day VARCHAR(10) NOT NULL,
    orders INTEGER NOT NULL,
    gross_amount BIGINT NOT NULL,
    refunded_amount BIGINT NOT NULL,
    PRIMARY KEY (order_id, seller_id, day)
);
CREATE INDEX report_sales_day ON report_sales (day, seller_id)
""")
