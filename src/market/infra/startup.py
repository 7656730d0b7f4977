"""Start-up steps that need a server (Kafka, MariaDB): tried again until it answers, for a while.

A replica started while its broker or database restarts (a node reboot, `market chaos`) waits for it and
starts, as it would under an orchestrator, instead of exiting at once; after `seconds` it gives up with the
last error (Kubernetes' startup probe allows three minutes, `market up` one per replica).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka.errors import KafkaConnectionError
from sqlalchemy.exc import OperationalError as SqlAlchemyOperationalError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from market.kernel.errors import Unavailable

log = logging.getLogger("market.startup")
T = TypeVar("T")
UNREACHABLE = (KafkaConnectionError, Unavailable, SqlAlchemyOperationalError, ConnectionError, OSError)


async def when_reachable(step: Callable[[], Awaitable[T]], what: str, seconds: float = 50.0) -> T:
    """`step`'s result; while it fails because a server is unreachable, wait (0.2 s, doubling to 2 s) and
    run it again."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(UNREACHABLE),
        wait=wait_exponential(multiplier=0.2, max=2.0),
        stop=stop_after_delay(seconds),
        reraise=True,
        before_sleep=lambda state: log.warning(
            "%s is not reachable yet (attempt %d): %s",
            what,
            state.attempt_number,
            state.outcome.exception() if state.outcome else "",
        ),
    ):
        with attempt:
            return await step()
    raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover
