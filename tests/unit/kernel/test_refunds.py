"""SPEC §10.3's allocation, property-tested: any plan, any sequence of partial cancellations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from market.kernel.plan import Method
from market.kernel.refunds import allocate, main_method, split

PLANS = (
    (Method.PG,),
    (Method.POINT,),
    (Method.BNPL,),
    (Method.PG, Method.POINT),
    (Method.PG, Method.COUPON),
    (Method.PG, Method.POINT, Method.COUPON),
)


@st.composite
def plans(draw: st.DrawFn) -> dict[Method, int]:
    methods = draw(st.sampled_from(PLANS))
    return {m: draw(st.integers(1, 5_000_000)) for m in methods}


@st.composite
def cancellations(draw: st.DrawFn) -> tuple[dict[Method, int], list[int]]:
    """A plan and the refunds of a sequence of partial cancels (perhaps ending with all that is left)."""
    amounts = draw(plans())
    total = sum(amounts.values())
    cuts = sorted(set(draw(st.lists(st.integers(1, total), max_size=8))))
    if draw(st.booleans()) and (not cuts or cuts[-1] != total):
        cuts.append(total)
    return amounts, [b - a for a, b in zip([0, *cuts], cuts, strict=False)]


@given(cancellations())
def test_refunds_never_exceed_the_legs_add_up_exactly_and_the_last_empties_every_leg(
    case: tuple[dict[Method, int], list[int]],
) -> None:
    amounts, refunds = case
    refunded = dict.fromkeys(amounts, 0)
    for refund in refunds:
        shares = allocate(amounts, refund, refunded)
        assert sum(shares.values()) == refund
        for method, share in shares.items():
            assert share >= 0
            refunded[method] += share
            assert refunded[method] <= amounts[method]
        # Proportional throughout: no leg drifts from its share of what was cancelled so far.
        cancelled, total = sum(refunded.values()), sum(amounts.values())
        for method, amount in amounts.items():
            assert abs(refunded[method] * total - cancelled * amount) <= 2 * len(amounts) * total
    if sum(refunds) == sum(amounts.values()):
        assert refunded == amounts


@given(plans(), st.data())
def test_a_first_cancellation_is_the_spec_formula_and_the_main_leg_takes_the_rounding(
    amounts: dict[Method, int], data: st.DataObject
) -> None:
    total = sum(amounts.values())
    refund = data.draw(st.integers(1, total))
    main = main_method(amounts)
    shares = allocate(amounts, refund, {})
    formula = {m: refund * a // total for m, a in amounts.items() if m != main}
    formula[main] = refund - sum(formula.values())
    if formula[main] <= amounts[main]:
        assert shares == formula
    else:  # the main leg would get back more than it has: capped, the excess on the others
        assert shares[main] == amounts[main]
        assert all(shares[m] >= formula[m] for m in amounts if m != main)


def test_examples_to_the_won() -> None:
    legs = {Method.PG: 7_000, Method.POINT: 2_000, Method.COUPON: 1_000}
    assert allocate(legs, 3_333, {}) == {Method.PG: 2_334, Method.POINT: 666, Method.COUPON: 333}
    # Cumulative: the second third is the split of 6,666 less what the first gave back.
    first = {Method.PG: 2_334, Method.POINT: 666, Method.COUPON: 333}
    assert allocate(legs, 3_333, first) == {Method.PG: 2_333, Method.POINT: 667, Method.COUPON: 333}
    assert split(legs, 10_000) == legs
    # POINT alone is its own main leg; a 1-won PG leg is capped and the points take the rest.
    assert allocate({Method.POINT: 5_000}, 1_234, {}) == {Method.POINT: 1_234}
    assert allocate({Method.PG: 1, Method.POINT: 50, Method.COUPON: 49}, 99, {}) == {
        Method.PG: 1,
        Method.POINT: 50,
        Method.COUPON: 48,
    }
