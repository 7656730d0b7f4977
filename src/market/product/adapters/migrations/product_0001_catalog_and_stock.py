"""Sellers, products and their stock, and the stock reserved per order."""

from market.infra.migrations import run

revision = "product_0001"
down_revision = None
branch_labels = ("product",)
depends_on = None


def upgrade() -> None:
    run("""
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
""")
