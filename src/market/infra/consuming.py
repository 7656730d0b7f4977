"""Handing a poll's events to a consumer, the same way on every transport (the in-process bus, Kafka).

A batch goes to `handle_batch` (one transaction). If that fails, each event is handled alone, so one bad
event cannot hold the others back; an event that keeps failing is retried with exponential backoff (the
transport does not move past it, so nothing is lost), and loudly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from prometheus_client import Counter, Gauge
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from market.kernel.events import Envelope
from market.kernel.messaging import Consumer

log = logging.getLogger("market.consumer")
FAILURES = Counter("market_consumer_failures_total", "Handler failures, by consumer group", ["group"])
# Set by each transport now and then (`report_lag`): `market status` and the operators' console read it.
LAG = Gauge("market_consumer_lag", "Events not yet handled, over this process's partitions", ["group"])


async def deliver(group: str, consumer: Consumer, envelopes: Sequence[Envelope]) -> None:
    """Returns once every event's effect is committed (a failing event is retried until it is)."""
    if not envelopes:
        return
    try:
        await consumer.handle_batch(envelopes)
        return
    except Exception:
        FAILURES.labels(group).inc()
        log.exception(
            "group %s: a batch of %d events failed; handling them one by one", group, len(envelopes)
        )
    for envelope in envelopes:
        await _one(group, consumer, envelope)


async def _one(group: str, consumer: Consumer, envelope: Envelope) -> None:
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential(multiplier=0.2, max=5.0),
        before_sleep=lambda state: _failed(group, envelope, state),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            await consumer.handle(envelope)


def _failed(group: str, envelope: Envelope, state: RetryCallState) -> None:
    FAILURES.labels(group).inc()
    error = state.outcome.exception() if state.outcome is not None else None
    log.error(
        "group %s failed on %s %s of %s (attempt %d); retrying",
        group, envelope.type, envelope.event_id, envelope.order_id, state.attempt_number, exc_info=error,
    )  # fmt: skip
