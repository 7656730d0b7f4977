"""SPEC §10.3's split of a refund over an order's payment legs: money arithmetic in won, shared by the order
service (to show the split when a cancellation is asked for) and the payment service (authoritative).

A refund of R won is split in proportion to the legs' amounts: every leg but the main one (PG or BNPL;
POINT when it is alone) gets `floor(R × leg.amount / total)`, the main leg the rest. A leg never gets back
more than it has left: a main leg that would is capped, and the excess goes to the other legs with room
(POINT before COUPON: real value back to the member first).

Over a sequence of partial cancellations the split is cumulative: `allocate` splits everything cancelled so
far and subtracts what each leg already gave back. So rounding never drifts: the last cancellation leaves
every leg at exactly its amount, and the sum over all cancellations equals the whole order's refund. For a
first cancellation this is the formula above, to the won.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from market.kernel.money import Won
from market.kernel.plan import Method

# Who takes what the main leg cannot (after the main leg): points are real value, the coupon bookkeeping.
EXCESS_ORDER = (Method.POINT, Method.COUPON, Method.PG, Method.BNPL)


@dataclass(frozen=True)
class Share:
    """What one leg gives back in one refund."""

    method: Method
    amount: Won


def main_method(amounts: Mapping[Method, Won]) -> Method:
    """The main leg: PG or BNPL; the only leg when there is one (POINT alone)."""
    for method in (Method.PG, Method.BNPL):
        if method in amounts:
            return method
    return next(iter(amounts))


def split(amounts: Mapping[Method, Won], cancelled: Won) -> dict[Method, Won]:
    """How `cancelled` won of the order's total fall on its legs (SPEC §10.3), none over its amount."""
    total = sum(amounts.values())
    if not 0 <= cancelled <= total:
        raise ValueError(f"cannot split {cancelled} won of an order of {total} won")
    main = main_method(amounts)
    out = {m: cancelled * a // total for m, a in amounts.items() if m != main}
    out[main] = cancelled - sum(out.values())
    excess = out[main] - amounts[main]
    for method in (m for m in EXCESS_ORDER if m in amounts and m != main):
        if excess <= 0:
            break
        moved = min(excess, amounts[method] - out[method])
        out[method] += moved
        excess -= moved
    out[main] = min(out[main], amounts[main])
    return out


def allocate(amounts: Mapping[Method, Won], refund: Won, refunded: Mapping[Method, Won]) -> dict[Method, Won]:
    """This refund's share of each leg, given what each leg already gave back: never negative, never more
    than a leg has left, adding up to `refund` exactly. ValueError if more than what is left is asked."""
    left = sum(amounts.values()) - sum(refunded.values())
    if not 0 <= refund <= left or any(not 0 <= refunded.get(m, 0) <= a for m, a in amounts.items()):
        raise ValueError(f"cannot refund {refund} won of the {left} won left")
    target = split(amounts, sum(refunded.values()) + refund)
    shares = {m: max(0, target[m] - refunded.get(m, 0)) for m in amounts}
    # A leg already past its cumulative share (rounding of earlier refunds) gives nothing now; what that
    # adds is taken back from the main leg first, so the main leg keeps taking the rounding.
    surplus = sum(shares.values()) - refund
    main = main_method(amounts)
    for method in (main, *(m for m in EXCESS_ORDER if m in amounts and m != main)):
        cut = min(surplus, shares[method])
        shares[method] -= cut
        surplus -= cut
    return shares


def shares_of(
    amounts: Mapping[Method, Won], refund: Won, refunded: Mapping[Method, Won]
) -> tuple[Share, ...]:
    """`allocate` as the legs' shares, in the order of `amounts`, the legs that give nothing left out."""
    allocated = allocate(amounts, refund, refunded)
    return tuple(Share(m, allocated[m]) for m in amounts if allocated[m] > 0)
