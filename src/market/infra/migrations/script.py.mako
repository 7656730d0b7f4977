"""${message}"""

from market.infra.migrations import run

revision = "${up_revision}"
down_revision = "${down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The DDL, with the tokens SERIAL_PK and LONGTEXT, or {"mysql": "..."} for one dialect's change.
    run("")
