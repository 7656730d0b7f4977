"""The read model's database (`market_reporting` / `reporting.db`): its own tables, fed only by events.

Each order is one row (its record as JSON, and the columns the search filters on), the sellers it has
lines of, and its rows of the sales statistics. Append a migration to change the schema; never edit one
that has shipped."""

from __future__ import annotations

from market.infra.migrations import OUTBOX_INBOX

READ_MODEL = """
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
"""

# The inbox records each event read (its outbox stays empty: the read model announces nothing).
MIGRATIONS: list[str] = [OUTBOX_INBOX, READ_MODEL]
