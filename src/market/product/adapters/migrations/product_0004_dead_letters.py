"""The events a consumer gave up on, in the embedded mode (infra.dead_letters)."""

from market.infra.dead_letters import DEAD_LETTERS
from market.infra.migrations import run

revision = "product_0004"
down_revision = "product_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run(DEAD_LETTERS)
