"""The validation chain: the rule table of `rules.py`, run at the "plan" stage, then at the "order" stage
with the payment's own coupon and the member's point balance. The first broken rule answers."""

from __future__ import annotations

from market.kernel.clock import Clock
from market.kernel.errors import DomainError, NotFound
from market.kernel.plan import Method, PlanContext, first_broken
from market.payment.domain.payment import Payment
from market.payment.ports import PointsAccount, UnitOfWorkFactory


async def broken_rule(
    payment: Payment, uow: UnitOfWorkFactory, points: PointsAccount, clock: Clock
) -> DomainError | None:
    """The error of the first rule the payment breaks, or None. Raises Unavailable if the balance is unknown."""
    plan = payment.plan()
    error = first_broken(PlanContext(legs=plan), "plan")
    if error is not None:
        return error
    coupon_leg = payment.leg(Method.COUPON)
    coupon = None
    if coupon_leg is not None and coupon_leg.coupon_id:
        async with uow() as tx:
            coupon = await tx.coupons.get_issued(coupon_leg.coupon_id)
    balance = None
    if payment.leg(Method.POINT) is not None:
        try:
            balance = await points.balance(payment.member_id)
        except NotFound:
            balance = 0  # an unknown member has no points to pay with
    context = PlanContext(
        legs=plan,
        member_id=payment.member_id,
        order_id=payment.order_id,
        order_total=payment.total_amount,
        coupon=coupon,
        point_balance=balance,
        now=clock.now(),
    )
    return first_broken(context, "order")
