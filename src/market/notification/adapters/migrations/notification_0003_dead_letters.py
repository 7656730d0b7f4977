"""The events a consumer gave up on, in the embedded mode (infra.dead_letters)."""

from market.infra.dead_letters import DEAD_LETTERS
from market.infra.migrations import run

revision = "notification_0003"
down_revision = "notification_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run(DEAD_LETTERS)
