"""The leases of the service's periodic jobs: one replica at a time runs each (infra.jobs)."""

from market.infra.jobs import LEASES
from market.infra.migrations import run

revision = "product_0003"
down_revision = "product_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run(LEASES)
