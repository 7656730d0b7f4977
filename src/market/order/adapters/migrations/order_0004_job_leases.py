"""The leases of the service's periodic jobs: one replica at a time runs each (infra.jobs)."""

from market.infra.jobs import LEASES
from market.infra.migrations import run

revision = "order_0004"
down_revision = "order_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run(LEASES)
