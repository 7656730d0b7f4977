"""The language of the member's messages (notification e-mails): ko or en."""

from market.infra.migrations import run

revision = "member_0003"
down_revision = "member_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("""
ALTER TABLE members ADD COLUMN locale VARCHAR(8) NOT NULL DEFAULT 'ko'
""")
