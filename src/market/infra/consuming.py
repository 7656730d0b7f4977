"""Handing a poll's events to a consumer, the same way on every transport (the in-process bus, Kafka).

A batch goes to `handle_batch` (one transaction). If that fails, each event is handled alone, so one bad
event cannot hold the others back. An event that keeps failing is retried with exponential backoff, up to
`max_attempts`; then it goes to the dead letters with its error (a Kafka topic `<topic>.dlq`, or the
consuming service's `dead_letters` table in the embedded mode), counted in `market_dead_letters_total`,
and the partition moves on. `market dlq replay` puts it back in its producer's outbox once the cause is
fixed (the inboxes skip it for the groups that handled it).

Each event's trace goes on (`infra.tracing.consuming` says how a batch of several traces is handled), and
with the access log on, each event handled gets a line in its own trace, with its order id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from prometheus_client import Counter, Gauge
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_never,
    wait_exponential,
)

from market.infra import tracing
from market.infra.logs import ACCESS
from market.kernel.events import Envelope
from market.kernel.messaging import Consumer, DeadLetters

log = logging.getLogger("market.consumer")
FAILURES = Counter("market_consumer_failures_total", "Handler failures, by consumer group", ["group"])
DEAD = Counter("market_dead_letters_total", "Events given up after max attempts", ["group", "topic"])
# Set by each transport now and then (`report_lag`): `market status` and the operators' console read it.
LAG = Gauge("market_consumer_lag", "Events not yet handled, over this process's partitions", ["group"])


class Delivery:
    """How a transport hands events to consumers: batch, then one by one, then the dead letters."""

    def __init__(
        self, dead_letters: DeadLetters | None = None, max_attempts: int = 8, first_backoff: float = 0.2
    ) -> None:
        self._dead_letters = dead_letters
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff

    async def deliver(self, group: str, consumer: Consumer, envelopes: Sequence[Envelope]) -> None:
        """Returns once every event's effect is committed, or it is in the dead letters."""
        if not envelopes:
            return
        try:
            with tracing.consuming(group, envelopes):
                await consumer.handle_batch(envelopes)
            _handled(group, *envelopes)
            return
        except Exception:
            FAILURES.labels(group).inc()
            log.exception(
                "group %s: a batch of %d events failed; handling them one by one", group, len(envelopes)
            )
        for envelope in envelopes:
            with tracing.handling(group, envelope):
                if await self._one(group, consumer, envelope):
                    _handled(group, envelope)

    async def _one(self, group: str, consumer: Consumer, envelope: Envelope) -> bool:
        """Handle it, retrying; False once it went to the dead letters."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential(multiplier=self._first_backoff, max=5.0),
            stop=stop_after_attempt(self._max_attempts) if self._dead_letters else stop_never,
            before_sleep=lambda state: _failed(group, envelope, state),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await consumer.handle(envelope)
            return True
        except Exception as exc:
            assert self._dead_letters is not None  # without them, the retries never stop
            await self._dead_letters.add(group, envelope, f"{type(exc).__name__}: {exc}", self._max_attempts)
            DEAD.labels(group, envelope.topic).inc()
            log.error(
                "group %s gave %s %s of %s up after %d attempts: in the dead letters",
                group, envelope.type, envelope.event_id, envelope.order_id, self._max_attempts,
            )  # fmt: skip
            return False


def _handled(group: str, *envelopes: Envelope) -> None:
    """The access log's line of each event, in the event's own trace (`tracing.within`)."""
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    for envelope in envelopes:
        with tracing.within(envelope):
            ACCESS.info("event %s %s handled by %s", envelope.type, envelope.event_id, group)


def _failed(group: str, envelope: Envelope, state: RetryCallState) -> None:
    FAILURES.labels(group).inc()
    error = state.outcome.exception() if state.outcome is not None else None
    log.error(
        "group %s failed on %s %s of %s (attempt %d); retrying",
        group, envelope.type, envelope.event_id, envelope.order_id, state.attempt_number, exc_info=error,
    )  # fmt: skip
