"""`PaymentMetrics` over prometheus_client, and a no-op for tests."""

from __future__ import annotations

from prometheus_client import Histogram

STEP_SECONDS = Histogram(
    "market_payment_step_seconds",
    "Time of one step of a payment method (take / give_back) and how it ended",
    ["method", "action", "outcome"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class PrometheusPaymentMetrics:
    def observe(self, method: str, action: str, outcome: str, seconds: float) -> None:
        STEP_SECONDS.labels(method, action, outcome).observe(seconds)


class NullPaymentMetrics:
    def observe(self, method: str, action: str, outcome: str, seconds: float) -> None:
        return None
