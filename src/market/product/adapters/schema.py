"""The product database. `market audit` reads products.stock / stock_received and reservations by these names."""

from __future__ import annotations

from market.infra.dead_letters import DEAD_LETTERS
from market.infra.jobs import LEASES
from market.infra.migrations import OUTBOX_INBOX, OUTBOX_TRACE

CATALOG_AND_STOCK = """
CREATE TABLE sellers (
    id VARCHAR(64) PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    created_at VARCHAR(32) NOT NULL
);
CREATE TABLE products (
    id VARCHAR(64) PRIMARY KEY,
    seller_id VARCHAR(64) NOT NULL,
    name VARCHAR(200) NOT NULL,
    price BIGINT NOT NULL,
    stock BIGINT NOT NULL CHECK (stock >= 0),
    stock_received BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL
);
CREATE INDEX ix_products_seller ON products (seller_id);
CREATE TABLE reservations (
    order_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    quantity BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    released_at VARCHAR(32),
    PRIMARY KEY (order_id, product_id)
)
"""

# The inbox records the order events already consumed; the outbox carries the catalog's changes (product.events).
MIGRATIONS: list[str] = [CATALOG_AND_STOCK, OUTBOX_INBOX, LEASES, DEAD_LETTERS, OUTBOX_TRACE]
