"""The payment service's use cases; `PaymentService` is their entry point."""

from market.payment.use_cases.service import HeldCoupon, PaymentService

__all__ = ["HeldCoupon", "PaymentService"]
