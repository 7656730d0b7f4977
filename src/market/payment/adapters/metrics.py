"""`PaymentMetrics` over prometheus_client, and a no-op for tests."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Gauge, Histogram

from market.payment.domain.payment import IN_FLIGHT
from market.payment.ports import InFlight

STEP_SECONDS = Histogram(
    "market_payment_step_seconds",
    "Time of one step of a payment method (take / give_back) and how it ended",
    ["method", "action", "outcome"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Set by each run of the reconciler (one replica at a time holds its lease): the operators' console
# shows the figures of the replica that ran it last, and alerts can watch them.
IN_FLIGHT_NOW = Gauge("market_payments_in_flight", "Payments the saga has not finished", ["status"])
LEASE_EXPIRED = Gauge(
    "market_payments_lease_expired", "Payments in flight whose runner went away (the reconciler resumes them)"
)
OLDEST_UPDATE = Gauge(
    "market_payments_oldest_in_flight_update_seconds",
    "When the least recently moved payment in flight last moved (Unix time; 0 when none is in flight)",
)
LAST_RUN = Gauge(
    "market_reconciler_last_run_seconds", "When this replica last ran the reconciler (Unix time)"
)
RESUMED = Gauge("market_reconciler_resumed", "Payments the reconciler's last run on this replica took over")


class PrometheusPaymentMetrics:
    def observe(self, method: str, action: str, outcome: str, seconds: float) -> None:
        STEP_SECONDS.labels(method, action, outcome).observe(seconds)

    def reconciled(self, in_flight: InFlight, resumed: int, at: datetime) -> None:
        for status in IN_FLIGHT:
            IN_FLIGHT_NOW.labels(status.value).set(in_flight.by_status.get(status.value, 0))
        LEASE_EXPIRED.set(in_flight.lease_expired)
        OLDEST_UPDATE.set(in_flight.oldest_update.timestamp() if in_flight.oldest_update else 0)
        RESUMED.set(resumed)
        LAST_RUN.set(at.timestamp())
