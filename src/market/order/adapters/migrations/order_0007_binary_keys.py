"""An Idempotency-Key is compared byte for byte (Stripe's keys are case-sensitive).

MariaDB's default collation (utf8mb4_unicode_ci) took "Ab" and "ab" for one key. SQLite compares bytes
already: nothing to do there."""

from market.infra.migrations import run

revision = "order_0007"
down_revision = "order_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run(
        {
            "mysql": "ALTER TABLE idempotency_keys MODIFY idem_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
        }
    )
