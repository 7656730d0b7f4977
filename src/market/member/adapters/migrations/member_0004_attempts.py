"""Login and sign-up attempts per key and fixed window: the throttle of SPEC §10.5.

Keys are "login:<email>", "login-from:<address>", "sign-up:<address>"; a window is its start,
ISO-8601 UTC. Shared by every replica."""

from market.infra.migrations import run

revision = "member_0004"
down_revision = "member_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""
CREATE TABLE attempts (
    attempt_key VARCHAR(300) NOT NULL,
    window_start VARCHAR(32) NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (attempt_key, window_start)
);
CREATE INDEX ix_attempts_window ON attempts (window_start)
""")
