"""The PG sandbox's own database's migrations (`pg_sandbox.db`): card payments and their cancels, BNPL
contracts and theirs, idempotency keys, faults served. Applied by the sandbox at its start (`migrate`, the
same lock as the services'); add a revision with `market migrate --new pg_sandbox -m "..."`.
"""

from pathlib import Path

from market.infra.migrations import History

HISTORY = History("pg_sandbox", Path(__file__).parent)
