"""The payment plan, the contract between order and payment: its methods, its legs, and SPEC §4's rules as
one declarative table.

The order service sends a plan (its legs) with OrderCreated and runs the table for the immediate 4xx; the
payment service runs it again, authoritatively, as its validation chain. Both read it here, in the kernel,
so neither service imports the other. Each row is one rule with one check; the first broken row answers.
Stage "plan" needs only the legs; stage "order" needs the order total, the coupon and the balance (a
balance of None leaves the points rule to the taking of the points, which refuses the same way).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from market.kernel.coupons import IssuedCoupon
from market.kernel.errors import DomainError
from market.kernel.money import Won

BNPL_MIN_AMOUNT = 10_000


class Method(StrEnum):
    PG = "PG"
    POINT = "POINT"
    COUPON = "COUPON"
    BNPL = "BNPL"


MAIN_METHODS = frozenset({Method.PG, Method.BNPL})


@dataclass(frozen=True)
class Leg:
    """One leg of a plan as the client asked for it: a method, an amount, the PG/BNPL key or the coupon."""

    method: Method
    amount: Won
    payment_key: str | None = None
    coupon_id: str | None = None

    @classmethod
    def of(
        cls, method: str, amount: Won, payment_key: str | None = None, coupon_id: str | None = None
    ) -> Leg:
        """A leg with only the fields its method uses: a key on PG/BNPL, a coupon id on COUPON."""
        m = Method(method)
        return cls(
            m, amount, payment_key if m in MAIN_METHODS else None, coupon_id if m == Method.COUPON else None
        )


@dataclass(frozen=True)
class PlanContext:
    """What the rules look at. Fields of the "order" stage stay None while only the plan is checked."""

    legs: tuple[Leg, ...]
    member_id: str = ""
    order_id: str | None = None
    order_total: Won | None = None
    coupon: IssuedCoupon | None = None
    point_balance: Won | None = None
    now: datetime | None = None
    methods: frozenset[Method] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", frozenset(leg.method for leg in self.legs))

    def amount(self, method: Method) -> Won:
        return sum(leg.amount for leg in self.legs if leg.method == method)

    def leg(self, method: Method) -> Leg | None:
        return next((leg for leg in self.legs if leg.method == method), None)

    @property
    def legs_total(self) -> Won:
        return sum(leg.amount for leg in self.legs)

    @property
    def coupon_discount(self) -> Won:
        assert self.coupon is not None and self.order_total is not None
        return self.coupon.definition.discount_for(self.order_total)


@dataclass(frozen=True)
class Rule:
    code: str
    stage: str
    broken: Callable[[PlanContext], bool]
    explain: Callable[[PlanContext], str]
    extra: Callable[[PlanContext], dict[str, object]] = lambda ctx: {}


def _coupon_not_applicable(ctx: PlanContext) -> bool:
    if Method.COUPON not in ctx.methods:
        return False
    if ctx.coupon is None or ctx.now is None or ctx.order_total is None:
        return True
    return not ctx.coupon.applicable(ctx.member_id, ctx.order_total, ctx.now, ctx.order_id)


RULES: tuple[Rule, ...] = (
    Rule(
        "VALIDATION_ERROR", "plan", lambda c: not c.legs, lambda c: "an order needs at least one payment leg"
    ),
    Rule(
        "VALIDATION_ERROR",
        "plan",
        lambda c: any(leg.amount <= 0 for leg in c.legs),
        lambda c: "every leg amount is a positive whole number of won",
    ),
    Rule(
        "DUPLICATE_PAYMENT_METHOD",
        "plan",
        lambda c: any(n > 1 for n in Counter(leg.method for leg in c.legs).values()),
        lambda c: "each payment method may appear at most once",
    ),
    Rule(
        "BNPL_COMPOSITE_NOT_ALLOWED",
        "plan",
        lambda c: Method.BNPL in c.methods and len(c.methods) > 1,
        lambda c: "BNPL pays an order alone, never with other methods",
    ),
    Rule(
        "COUPON_STANDALONE_NOT_ALLOWED",
        "plan",
        lambda c: c.methods == {Method.COUPON},
        lambda c: "a coupon cannot pay an order alone",
    ),
    Rule(
        "COMPOSITE_REQUIRES_PG",
        "plan",
        lambda c: len(c.methods) > 1 and Method.PG not in c.methods,
        lambda c: "a composite payment needs PG as its main method",
    ),
    Rule(
        "VALIDATION_ERROR",
        "plan",
        lambda c: any(leg.method in (Method.PG, Method.BNPL) and not leg.payment_key for leg in c.legs),
        lambda c: "PG and BNPL legs need a payment_key",
    ),
    Rule(
        "VALIDATION_ERROR",
        "plan",
        lambda c: any(leg.method == Method.COUPON and not leg.coupon_id for leg in c.legs),
        lambda c: "a COUPON leg needs a coupon_id",
    ),
    Rule(
        "BNPL_MIN_AMOUNT",
        "plan",
        lambda c: Method.BNPL in c.methods and c.amount(Method.BNPL) < BNPL_MIN_AMOUNT,
        lambda c: f"BNPL needs an amount of at least {BNPL_MIN_AMOUNT} won",
        lambda c: {"min_amount": BNPL_MIN_AMOUNT},
    ),
    Rule(
        "AMOUNT_MISMATCH",
        "order",
        lambda c: c.legs_total != c.order_total,
        lambda c: f"the payment legs add up to {c.legs_total} won but the order total is {c.order_total} won",
        lambda c: {"expected_total": c.order_total},
    ),
    Rule(
        "COUPON_NOT_APPLICABLE",
        "order",
        _coupon_not_applicable,
        lambda c: (
            "the coupon is not the member's, already used, not valid now, or the order is below its minimum"
        ),
    ),
    Rule(
        "AMOUNT_MISMATCH",
        "order",
        lambda c: Method.COUPON in c.methods and c.amount(Method.COUPON) != c.coupon_discount,
        lambda c: f"the coupon takes {c.coupon_discount} won off this order, not {c.amount(Method.COUPON)}",
        lambda c: {"expected_total": c.order_total, "expected_coupon_amount": c.coupon_discount},
    ),
    Rule(
        "INSUFFICIENT_POINTS",
        "order",
        lambda c: (
            Method.POINT in c.methods
            and c.point_balance is not None
            and c.point_balance < c.amount(Method.POINT)
        ),
        lambda c: f"{c.amount(Method.POINT)} points asked, {c.point_balance or 0} available",
        lambda c: {"point_balance": c.point_balance or 0},
    ),
)


def first_broken(ctx: PlanContext, stage: str) -> DomainError | None:
    """The error of the first rule of `stage` that `ctx` breaks, or None."""
    for rule in RULES:
        if rule.stage == stage and rule.broken(ctx):
            return DomainError(rule.code, rule.explain(ctx), **rule.extra(ctx))
    return None


def check(ctx: PlanContext, stage: str) -> None:
    error = first_broken(ctx, stage)
    if error is not None:
        raise error


def main_leg(legs: tuple[Leg, ...]) -> Leg | None:
    """The leg that is charged last: PG or BNPL. Sub-payments (points, coupon) are taken first."""
    return next((leg for leg in legs if leg.method in MAIN_METHODS), None)
