"""The auditor catches each kind of violation of SPEC §8, and says nothing about a consistent snapshot."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from market.audit.checks import Snapshot, violations
from market.kernel.clock import iso

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def consistent() -> Snapshot:
    legs = [
        {"method": "PG", "amount": 7000, "status": "APPROVED"},
        {"method": "POINT", "amount": 2000, "status": "APPROVED"},
        {"method": "COUPON", "amount": 1000, "coupon_id": "icp_1", "status": "APPROVED"},
    ]
    bnpl = [{"method": "BNPL", "amount": 20000, "status": "APPROVED", "refunded_amount": 10000}]
    return Snapshot(
        members=[{"id": "mem_1", "point_balance": 3000}],
        ledger=[
            {"member_id": "mem_1", "delta": 5000, "order_id": None, "kind": "GRANT"},
            {"member_id": "mem_1", "delta": -2000, "order_id": "ord_1", "kind": "ORDER_USE"},
        ],
        products=[{"id": "prd_1", "stock": 7, "stock_received": 10}],
        reservations=[
            {"order_id": "ord_1", "product_id": "prd_1", "quantity": 1, "status": "RESERVED"},
            {"order_id": "ord_2", "product_id": "prd_1", "quantity": 1, "status": "RESERVED"},
            {"order_id": "ord_3", "product_id": "prd_1", "quantity": 4, "status": "RELEASED"},
            {"order_id": "ord_4", "product_id": "prd_1", "quantity": 1, "status": "RESERVED"},
        ],
        orders=[
            {
                "id": "ord_1",
                "status": "PAID",
                "total_amount": 10000,
                "payments": json.dumps(legs),
                "updated_at": iso(NOW),
            },
            {
                "id": "ord_2",
                "status": "PENDING",
                "total_amount": 10000,
                "payments": json.dumps([{"method": "PG", "amount": 10000}]),
                "updated_at": iso(NOW),
            },
            {
                "id": "ord_3",
                "status": "FAILED",
                "total_amount": 40000,
                "payments": json.dumps([{"method": "PG", "amount": 40000}]),
                "updated_at": iso(NOW),
            },
            {  # 2 × 10,000 won by BNPL, one of them cancelled and refunded
                "id": "ord_4",
                "status": "PAID",
                "total_amount": 20000,
                "items": json.dumps([{"unit_price": 10000, "quantity": 2, "cancelled_quantity": 1}]),
                "payments": json.dumps(bnpl),
                "updated_at": iso(NOW),
                "cancellations": json.dumps([{"id": "cnl_1", "refunded_at": iso(NOW)}]),
            },
        ],
        payments=[
            {"order_id": "ord_1", "status": "COMPLETED", "total_amount": 10000, "legs": json.dumps(legs)},
            {"order_id": "ord_4", "status": "COMPLETED", "total_amount": 20000, "legs": json.dumps(bnpl)},
        ],
        coupons=[
            {"id": "icp_1", "status": "USED", "order_id": "ord_1"},
            {"id": "icp_2", "status": "AVAILABLE", "order_id": None},
        ],
        contracts=[
            {"order_id": "ord_4", "amount": 20000, "balance_amount": 10000, "status": "PARTIAL_CANCELED"}
        ],
        captures=[
            {"order_id": "ord_1", "amount": 7000, "balance_amount": 7000, "status": "DONE"},
            {"order_id": "ord_3", "amount": 40000, "balance_amount": 0, "status": "CANCELED"},
        ],
    )


def test_a_consistent_snapshot_has_no_violation() -> None:
    assert violations(consistent(), NOW) == []


def test_each_broken_invariant_is_reported() -> None:
    cases = {
        "stock": lambda s: s.products[0].update(stock=9),
        "negative": lambda s: s.products[0].update(stock=-1, stock_received=1),
        "still holds": lambda s: s.reservations[2].update(status="RESERVED"),
        "ledger sum": lambda s: s.members[0].update(point_balance=3500),
        "ORDER_USE ledger rows": lambda s: s.ledger.append(dict(s.ledger[1], delta=0)),
        "used by 2 live orders": lambda s: s.orders[1].update(payments=s.orders[0]["payments"]),
        "captured for order ord_3": lambda s: s.captures[1].update(status="DONE", balance_amount=40000),
        "lacks its capture": lambda s: s.captures.pop(0),
        "legs 10000 != total": lambda s: s.orders[0].update(total_amount=12000),
        "has been PENDING": lambda s: s.orders[1].update(updated_at=iso(NOW - timedelta(seconds=61))),
        "kept 2000 points": lambda s: s.orders[0].update(status="CANCELLED"),
        "left USED by FAILED order ord_3": lambda s: s.coupons[1].update(status="USED", order_id="ord_3"),
        "bnpl: PAID order ord_4 lacks its capture of 10000": lambda s: s.contracts[0].update(
            balance_amount=20000
        ),
        "bnpl: 10000 won captured for order ord_3": lambda s: s.contracts[0].update(order_id="ord_3"),
        "legs hold 10000 won but 0 won are open": lambda s: s.orders[3].update(
            items=json.dumps([{"unit_price": 10000, "quantity": 2, "cancelled_quantity": 2}])
        ),
        "but its payment": lambda s: s.payments[1].update(
            legs=json.dumps([{"method": "BNPL", "amount": 20000, "refunded_amount": 9999}])
        ),
        "for refund cnl_1": lambda s: s.ledger.extend(
            [
                {
                    "member_id": "mem_1",
                    "delta": 0,
                    "order_id": "ord_1",
                    "kind": "ORDER_REFUND",
                    "refund_id": "cnl_1",
                }
            ]
            * 2
        ),
        "(unsettled)": lambda s: s.orders[3].update(
            updated_at=iso(NOW - timedelta(seconds=61)),
            cancellations=json.dumps([{"id": "cnl_2", "refunded_at": None}]),
        ),
    }
    for needle, damage in cases.items():
        snap = consistent()
        damage(snap)
        found = violations(snap, NOW)
        assert any(needle in v for v in found), (needle, found)
