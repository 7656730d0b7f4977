"""The rule table of SPEC §4, exhaustively: every combination of methods, and every rule of the order stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations

import pytest

from market.kernel.coupons import AVAILABLE, FIXED, PERCENT, USED, CouponDefinition, IssuedCoupon
from market.kernel.plan import Leg, Method, PlanContext, first_broken

NOW = datetime(2026, 3, 1, tzinfo=UTC)
PG, POINT, COUPON, BNPL = Method.PG, Method.POINT, Method.COUPON, Method.BNPL

# SPEC §4, written out: the verdict on every set of methods (None: allowed), and on each method used twice.
EXPECTED: dict[tuple[Method, ...], str | None] = {
    (): "VALIDATION_ERROR",
    (PG,): None,
    (POINT,): None,
    (COUPON,): "COUPON_STANDALONE_NOT_ALLOWED",
    (BNPL,): None,
    (PG, POINT): None,
    (PG, COUPON): None,
    (PG, BNPL): "BNPL_COMPOSITE_NOT_ALLOWED",
    (POINT, COUPON): "COMPOSITE_REQUIRES_PG",
    (POINT, BNPL): "BNPL_COMPOSITE_NOT_ALLOWED",
    (COUPON, BNPL): "BNPL_COMPOSITE_NOT_ALLOWED",
    (PG, POINT, COUPON): None,
    (PG, POINT, BNPL): "BNPL_COMPOSITE_NOT_ALLOWED",
    (PG, COUPON, BNPL): "BNPL_COMPOSITE_NOT_ALLOWED",
    (POINT, COUPON, BNPL): "BNPL_COMPOSITE_NOT_ALLOWED",
    (PG, POINT, COUPON, BNPL): "BNPL_COMPOSITE_NOT_ALLOWED",
    (PG, PG): "DUPLICATE_PAYMENT_METHOD",
    (POINT, POINT): "DUPLICATE_PAYMENT_METHOD",
    (COUPON, COUPON): "DUPLICATE_PAYMENT_METHOD",
    (BNPL, BNPL): "DUPLICATE_PAYMENT_METHOD",
}
AMOUNTS = {PG: 20_000, POINT: 5_000, COUPON: 3_000, BNPL: 20_000}


def definition(**changes: object) -> CouponDefinition:
    fields: dict[str, object] = {
        "id": "cpn_1",
        "name": "Welcome",
        "discount_type": FIXED,
        "discount_value": 3_000,
        "max_discount": None,
        "min_order_amount": 0,
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=1),
    }
    return CouponDefinition(**{**fields, **changes})  # type: ignore[arg-type]


def coupon(
    status: str = AVAILABLE, member_id: str = "mem_1", order_id: str | None = None, **changes: object
) -> IssuedCoupon:
    return IssuedCoupon("icp_1", definition(**changes), member_id, status, order_id)


def leg(method: Method, amount: int | None = None) -> Leg:
    key = "pk_test_ok" if method in (PG, BNPL) else None
    return Leg(
        method, AMOUNTS[method] if amount is None else amount, key, "icp_1" if method == COUPON else None
    )


def order(
    *legs: Leg,
    total: int | None = None,
    issued: IssuedCoupon | None = None,
    balance: int = 100_000,
    order_id: str | None = None,
) -> PlanContext:
    return PlanContext(
        legs=legs,
        member_id="mem_1",
        order_id=order_id,
        order_total=sum(x.amount for x in legs) if total is None else total,
        coupon=issued or coupon(),
        point_balance=balance,
        now=NOW,
    )


def verdict(ctx: PlanContext, stage: str) -> str | None:
    error = first_broken(ctx, stage)
    return None if error is None else error.code


def test_the_table_covers_every_combination() -> None:
    subsets = {c for n in range(5) for c in combinations((PG, POINT, COUPON, BNPL), n)}
    assert subsets | {(m, m) for m in Method} == set(EXPECTED)


@pytest.mark.parametrize(
    ("methods", "expected"),
    list(EXPECTED.items()),
    ids=lambda v: "+".join(v) if isinstance(v, tuple) else str(v),
)
def test_every_combination_gets_the_specs_verdict(methods: tuple[Method, ...], expected: str | None) -> None:
    legs = tuple(leg(m) for m in methods)
    assert verdict(PlanContext(legs=legs), "plan") == expected
    if expected is None:  # an allowed plan that adds up passes the order stage too
        assert verdict(order(*legs), "order") is None


@pytest.mark.parametrize(("amount", "expected"), [(9_999, "BNPL_MIN_AMOUNT"), (10_000, None)])
def test_bnpl_minimum(amount: int, expected: str | None) -> None:
    error = first_broken(PlanContext(legs=(leg(BNPL, amount),)), "plan")
    assert (error.code if error else None) == expected
    if error:
        assert error.extra == {"min_amount": 10_000}


@pytest.mark.parametrize("bad", [0, -1])
def test_every_leg_is_a_positive_amount(bad: int) -> None:
    assert verdict(PlanContext(legs=(leg(PG, bad),)), "plan") == "VALIDATION_ERROR"


def test_main_legs_need_a_payment_key_and_a_coupon_leg_its_coupon() -> None:
    assert verdict(PlanContext(legs=(Leg(PG, 1_000),)), "plan") == "VALIDATION_ERROR"
    assert verdict(PlanContext(legs=(Leg(BNPL, 10_000),)), "plan") == "VALIDATION_ERROR"
    assert verdict(PlanContext(legs=(leg(PG), Leg(COUPON, 3_000))), "plan") == "VALIDATION_ERROR"


def test_legs_must_add_up_to_the_total() -> None:
    error = first_broken(order(leg(PG, 9_000), leg(POINT, 500), total=10_000), "order")
    assert error is not None and error.code == "AMOUNT_MISMATCH"
    assert error.extra["expected_total"] == 10_000


def test_the_coupon_amount_must_equal_its_discount() -> None:
    error = first_broken(order(leg(PG, 18_000), leg(COUPON, 2_000)), "order")
    assert error is not None and error.code == "AMOUNT_MISMATCH"
    assert error.extra == {"expected_total": 20_000, "expected_coupon_amount": 3_000}


@pytest.mark.parametrize(
    ("changes", "total", "expected_discount"),
    [
        ({"discount_type": FIXED, "discount_value": 3_000}, 20_000, 3_000),
        ({"discount_type": FIXED, "discount_value": 30_000}, 20_000, 20_000),  # never more than the order
        ({"discount_type": PERCENT, "discount_value": 10}, 20_000, 2_000),
        ({"discount_type": PERCENT, "discount_value": 10}, 20_005, 2_000),  # rounded down
        ({"discount_type": PERCENT, "discount_value": 50, "max_discount": 5_000}, 20_000, 5_000),  # capped
        (
            {"discount_type": PERCENT, "discount_value": 10, "max_discount": 5_000},
            20_000,
            2_000,
        ),  # under the cap
    ],
)
def test_fixed_and_percent_discounts(changes: dict[str, object], total: int, expected_discount: int) -> None:
    issued = coupon(**changes)
    assert issued.definition.discount_for(total) == expected_discount
    ctx = order(leg(PG, total - expected_discount), leg(COUPON, expected_discount), issued=issued)
    assert verdict(ctx, "order") is None


@pytest.mark.parametrize(
    ("issued", "total"),
    [
        (coupon(min_order_amount=30_000), 20_000),  # below the minimum
        (coupon(valid_from=NOW + timedelta(seconds=1)), 20_000),  # not yet valid
        (coupon(valid_until=NOW), 20_000),  # expired (the end is exclusive)
        (coupon(member_id="mem_2"), 20_000),  # someone else's
        (coupon(status=USED, order_id="ord_other"), 20_000),  # used by another order
    ],
)
def test_a_coupon_not_applicable(issued: IssuedCoupon, total: int) -> None:
    ctx = order(leg(PG, total - 3_000), leg(COUPON, 3_000), issued=issued, order_id="ord_1")
    assert verdict(ctx, "order") == "COUPON_NOT_APPLICABLE"


def test_a_coupon_at_its_minimum_and_one_held_by_this_very_order_apply() -> None:
    at_minimum = order(leg(PG, 17_000), leg(COUPON, 3_000), issued=coupon(min_order_amount=20_000))
    held = order(leg(PG, 17_000), leg(COUPON, 3_000), issued=coupon(USED, order_id="ord_1"), order_id="ord_1")
    assert verdict(at_minimum, "order") is None
    assert verdict(held, "order") is None


def test_an_unknown_coupon_is_not_applicable() -> None:
    ctx = PlanContext(legs=(leg(PG, 17_000), leg(COUPON)), member_id="mem_1", order_total=20_000, now=NOW)
    assert verdict(ctx, "order") == "COUPON_NOT_APPLICABLE"


def test_points_only_up_to_the_balance() -> None:
    error = first_broken(order(leg(PG, 15_000), leg(POINT, 5_000), balance=4_999), "order")
    assert error is not None and error.code == "INSUFFICIENT_POINTS"
    assert error.extra == {"point_balance": 4_999}
    assert verdict(order(leg(PG, 15_000), leg(POINT, 5_000), balance=5_000), "order") is None


@pytest.mark.parametrize(
    ("legs", "expected"),
    [
        ((leg(PG), leg(PG), leg(BNPL)), "DUPLICATE_PAYMENT_METHOD"),  # duplicates before combinations
        ((leg(BNPL, 5_000), leg(POINT)), "BNPL_COMPOSITE_NOT_ALLOWED"),  # combinations before the minimum
        ((leg(COUPON), leg(COUPON)), "DUPLICATE_PAYMENT_METHOD"),  # before "coupon alone"
        ((leg(PG, 0), leg(PG)), "VALIDATION_ERROR"),  # a non-positive amount before duplicates
        ((Leg(BNPL, 5_000),), "VALIDATION_ERROR"),  # a missing key before the minimum
    ],
)
def test_precedence_within_the_plan(legs: tuple[Leg, ...], expected: str) -> None:
    assert verdict(PlanContext(legs=legs), "plan") == expected


def test_precedence_within_the_order_stage() -> None:
    unusable = coupon(status=USED, order_id="ord_other")
    # total, then the coupon's applicability, then its amount, then the points.
    assert (
        verdict(order(leg(PG, 1), leg(COUPON, 1), leg(POINT), total=99, issued=unusable, balance=0), "order")
        == "AMOUNT_MISMATCH"
    )
    assert (
        verdict(order(leg(PG), leg(COUPON, 1), leg(POINT), issued=unusable, balance=0), "order")
        == "COUPON_NOT_APPLICABLE"
    )
    assert verdict(order(leg(PG), leg(COUPON, 1), leg(POINT), balance=0), "order") == "AMOUNT_MISMATCH"
    assert verdict(order(leg(PG), leg(COUPON), leg(POINT), balance=0), "order") == "INSUFFICIENT_POINTS"


def test_the_plan_stage_ignores_what_only_the_order_knows() -> None:
    # Amounts that do not add up, an unusable coupon and no points: the plan's shape is still fine.
    ctx = PlanContext(legs=(leg(PG, 1), leg(POINT, 1), leg(COUPON, 1)))
    assert verdict(ctx, "plan") is None
