"""SPEC §10.3's invariant on the order itself, property-tested: any order, any plan, any sequence of partial
cancels (each refunded as previewed), and the whole cancel at the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from market.kernel.plan import Leg, Method
from market.order.domain import Line, Order, OrderStatus

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PLANS = (
    (Method.PG,),
    (Method.POINT,),
    (Method.BNPL,),
    (Method.PG, Method.POINT),
    (Method.PG, Method.POINT, Method.COUPON),
)


@st.composite
def paid_orders(draw: st.DrawFn) -> Order:
    lines = [
        Line(f"prd_{i}", f"P{i}", draw(st.integers(1, 100_000)), draw(st.integers(1, 5)))
        for i in range(draw(st.integers(1, 4)))
    ]
    total = sum(line.line_amount for line in lines)
    methods = draw(st.sampled_from(PLANS))
    if total < len(methods):
        methods = methods[:1]
    n = len(methods) - 1
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), min_size=n, max_size=n))) if n else []
    amounts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    legs = [
        Leg(m, a, "pk_test_ok" if m in (Method.PG, Method.BNPL) else None)
        for m, a in zip(methods, amounts, strict=True)
    ]
    return Order.place("ord_1", "mem_1", lines, legs, T0).mark_paid(T0, {})


def still_open(order: Order) -> int:
    return order.total_amount - sum(line.unit_price * line.cancelled_quantity for line in order.items)


def held(order: Order) -> int:
    return sum(leg.amount - leg.refunded_amount for leg in order.payments)


@given(paid_orders(), st.data())
def test_what_the_legs_hold_is_what_is_still_open_after_every_cancel(
    order: Order, data: st.DataObject
) -> None:
    at = T0
    while order.status == OrderStatus.PAID:
        at += timedelta(minutes=1)
        open_lines = [line for line in order.items if line.open_quantity]
        picked = data.draw(
            st.lists(st.sampled_from(open_lines), min_size=1, unique_by=lambda line: line.product_id)
        )
        items = [(line.product_id, data.draw(st.integers(1, line.open_quantity))) for line in picked]
        asked = order.request_cancellation(at, requested=items)
        pending = asked.pending_cancellation
        assert pending is not None and sum(s.amount for s in pending.refunds) == pending.refund_amount
        if pending.whole:
            order = asked.mark_cancelled(at, {})
        else:
            done = asked.mark_partially_refunded(pending.id, pending.refunds, at)
            assert done is not None
            order = done
        assert held(order) == still_open(order)
        assert all(0 <= leg.refunded_amount <= leg.amount for leg in order.payments)
    assert order.status == OrderStatus.CANCELLED
    assert [leg.refunded_amount for leg in order.payments] == [leg.amount for leg in order.payments]
