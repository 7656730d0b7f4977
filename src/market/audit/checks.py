"""The invariants of SPEC §8, each a function from a snapshot of every service's data to violations.

The snapshot is read service by service, so the audit is meant for a quiet deployment (or one whose
in-flight orders have settled: `market audit --wait` waits for that first).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from market.kernel.clock import parse_iso
from market.kernel.db import Database, Row

LIVE = {"PENDING", "PAID", "CANCELLING"}
SETTLED = {"PAID", "FAILED", "CANCELLED"}
ENDED = {"FAILED", "CANCELLED"}
CAPTURED = {"DONE", "PARTIAL_CANCELED"}
CONTRACTED = {"APPROVED", "PARTIAL_CANCELED"}


@dataclass
class Snapshot:
    members: list[Row] = field(default_factory=list)
    ledger: list[Row] = field(default_factory=list)
    products: list[Row] = field(default_factory=list)
    reservations: list[Row] = field(default_factory=list)
    orders: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)
    coupons: list[Row] = field(default_factory=list)
    captures: list[Row] = field(default_factory=list)
    contracts: list[Row] = field(default_factory=list)
    outbox_backlog: int = 0


async def _rows(db: Database, sql: str) -> list[Row]:
    async with db.transaction() as tx:
        return await tx.fetchall(sql)


async def read_snapshot(dbs: dict[str, Database]) -> Snapshot:
    s = Snapshot()
    s.members = await _rows(dbs["member"], "SELECT id, point_balance FROM members")
    s.ledger = await _rows(
        dbs["member"], "SELECT member_id, delta, order_id, kind, refund_id FROM point_ledger"
    )
    s.products = await _rows(dbs["product"], "SELECT id, stock, stock_received FROM products")
    s.reservations = await _rows(
        dbs["product"], "SELECT order_id, product_id, quantity, status FROM reservations"
    )
    s.orders = await _rows(
        dbs["order"],
        "SELECT id, status, total_amount, items, payments, updated_at, cancellations FROM orders",
    )
    s.payments = await _rows(dbs["payment"], "SELECT order_id, status, total_amount, legs FROM payments")
    s.coupons = await _rows(dbs["payment"], "SELECT id, status, order_id FROM issued_coupons")
    s.captures = await _rows(
        dbs["pg"], "SELECT order_id, amount, balance_amount, status FROM sandbox_card_payments"
    )
    s.contracts = await _rows(
        dbs["pg"], "SELECT order_id, amount, balance_amount, status FROM sandbox_bnpl_payments"
    )
    for name in ("order", "payment"):
        s.outbox_backlog += len(await _rows(dbs[name], "SELECT seq FROM outbox"))
    return s


def _legs(order: Row) -> list[dict[str, Any]]:
    legs: list[dict[str, Any]] = json.loads(order["payments"])
    return legs


def check_stock(s: Snapshot) -> list[str]:
    out = []
    reserved: Counter[str] = Counter()
    order_status = {o["id"]: o["status"] for o in s.orders}
    for r in s.reservations:
        if r["status"] == "RESERVED":
            reserved[r["product_id"]] += r["quantity"]
            if order_status.get(r["order_id"]) not in LIVE:
                out.append(
                    f"stock: order {r['order_id']} ({order_status.get(r['order_id'], 'unknown')}) still "
                    f"holds {r['quantity']} of {r['product_id']}"
                )
        elif order_status.get(r["order_id"]) in LIVE:
            out.append(
                f"stock: order {r['order_id']} is {order_status[r['order_id']]} but its stock was released"
            )
    for p in s.products:
        if p["stock"] < 0:
            out.append(f"stock: {p['id']} is negative ({p['stock']})")
        if p["stock_received"] != p["stock"] + reserved[p["id"]]:
            out.append(
                f"stock: {p['id']} received {p['stock_received']} but on hand {p['stock']} + held "
                f"{reserved[p['id']]} = {p['stock'] + reserved[p['id']]}"
            )
    return out


def check_points(s: Snapshot) -> list[str]:
    out = []
    sums: Counter[str] = Counter()
    for e in s.ledger:
        sums[e["member_id"]] += e["delta"]
    for m in s.members:
        if m["point_balance"] < 0:
            out.append(f"points: {m['id']} has a negative balance {m['point_balance']}")
        if m["point_balance"] != sums[m["id"]]:
            out.append(f"points: {m['id']} balance {m['point_balance']} != ledger sum {sums[m['id']]}")
    twice = Counter((e["order_id"], e["kind"], e.get("refund_id") or "") for e in s.ledger if e["order_id"])
    out += [
        f"points: order {o} has {n} {k} ledger rows" + (f" for refund {r}" if r else "")
        for (o, k, r), n in twice.items()
        if n > 1
    ]
    order_status = {o["id"]: o["status"] for o in s.orders}
    net: Counter[str] = Counter()
    for e in s.ledger:
        if e["order_id"]:
            net[e["order_id"]] += e["delta"]
    out += [
        f"points: {order_status[o]} order {o} kept {-n} points"
        for o, n in net.items()
        if n and order_status.get(o) in {"FAILED", "CANCELLED"}
    ]
    return out


def check_coupons(s: Snapshot) -> list[str]:
    holders: defaultdict[str, list[str]] = defaultdict(list)
    for o in s.orders:
        if o["status"] in LIVE:
            for leg in _legs(o):
                if leg.get("method") == "COUPON":
                    holders[leg.get("coupon_id") or ""].append(o["id"])
    out = [
        f"coupons: {c} is used by {len(ids)} live orders {ids}" for c, ids in holders.items() if len(ids) > 1
    ]
    status = {c["id"]: c for c in s.coupons}
    for coupon_id, ids in holders.items():
        c = status.get(coupon_id)
        if c is not None and (c["status"] != "USED" or c["order_id"] != ids[0]):
            out.append(f"coupons: {coupon_id} pays order {ids[0]} but is {c['status']} for {c['order_id']}")
    # A failed or cancelled order lets go of its coupon (an expired one comes back EXPIRED).
    order_status = {o["id"]: o["status"] for o in s.orders}
    out += [
        f"coupons: {c['id']} is left USED by {order_status[c['order_id']]} order {c['order_id']}"
        for c in s.coupons
        if c["status"] == "USED" and order_status.get(c["order_id"]) in ENDED
    ]
    return out


def _held_by_provider(s: Snapshot, kind: str, method: str, held: list[Row], live: set[str]) -> list[str]:
    """Every charge the provider holds belongs to a PAID/CANCELLING order, or is cancelled; every PAID
    order's charge holds exactly its leg's amount less what was refunded."""
    out = []
    orders = {o["id"]: o for o in s.orders}
    by_order = {c["order_id"]: c for c in held if c["status"] in live}
    for order_id, c in by_order.items():
        status = orders[order_id]["status"] if order_id in orders else "unknown"
        if status not in {"PAID", "CANCELLING"}:
            out.append(f"{kind}: {_balance(c)} won captured for order {order_id} which is {status}")
    for o in s.orders:
        legs = [leg for leg in _legs(o) if leg.get("method") == method]
        if o["status"] == "PAID" and legs and settled(o):  # a refund under way moves the balance first
            due = legs[0]["amount"] - legs[0].get("refunded_amount", 0)
            charge = by_order.get(o["id"])
            if charge is None or _balance(charge) != due:
                out.append(f"{kind}: PAID order {o['id']} lacks its capture of {due} won")
    return out


def _balance(c: Row) -> int:
    """A charge's balance (a BNPL contract from before balances were kept has none: its amount)."""
    return int(c["amount"] if c["balance_amount"] is None else c["balance_amount"])


def check_card(s: Snapshot) -> list[str]:
    return _held_by_provider(s, "card", "PG", s.captures, CAPTURED)


def check_bnpl(s: Snapshot) -> list[str]:
    return _held_by_provider(s, "bnpl", "BNPL", s.contracts, CONTRACTED)


def check_refunds(s: Snapshot) -> list[str]:
    """SPEC §10.3: what the legs still hold is what is still open, for every paid or cancelled order; no
    leg gave back more than it took; the order and its payment agree on each leg's refund."""
    out = []
    payments = {p["order_id"]: p for p in s.payments}
    for o in s.orders:
        if o["status"] not in ("PAID", "CANCELLED"):
            continue
        legs = _legs(o)
        held = sum(leg["amount"] - leg.get("refunded_amount", 0) for leg in legs)
        items = json.loads(o.get("items") or "[]")
        cancelled = sum(i["unit_price"] * i.get("cancelled_quantity", 0) for i in items)
        still_open = o["total_amount"] - cancelled
        if held != still_open:
            out.append(f"refunds: order {o['id']}'s legs hold {held} won but {still_open} won are open")
        out += [
            f"refunds: order {o['id']}'s {leg['method']} leg gave back {leg['refunded_amount']} of {leg['amount']}"
            for leg in legs
            if not 0 <= leg.get("refunded_amount", 0) <= leg["amount"]
        ]
        payment = payments.get(o["id"])
        if payment is not None and o.get("cancellations") and settled(o):
            paid = {leg["method"]: leg["refunded_amount"] for leg in json.loads(payment["legs"])}
            ours = {leg["method"]: leg.get("refunded_amount", 0) for leg in legs}
            if paid != ours:
                out.append(f"refunds: order {o['id']} refunded {ours} but its payment {paid}")
    return out


def check_totals(s: Snapshot) -> list[str]:
    out = []
    payments = {p["order_id"]: p for p in s.payments}
    for o in s.orders:
        if o["status"] != "PAID":
            continue
        legs_total = sum(leg["amount"] for leg in _legs(o))
        if legs_total != o["total_amount"]:
            out.append(f"totals: PAID order {o['id']} legs {legs_total} != total {o['total_amount']}")
        payment = payments.get(o["id"])
        if payment is None or payment["status"] != "COMPLETED":
            out.append(f"totals: PAID order {o['id']} has payment {payment and payment['status']}")
        elif sum(leg["amount"] for leg in json.loads(payment["legs"])) != o["total_amount"]:
            out.append(f"totals: payment of PAID order {o['id']} does not add up to {o['total_amount']}")
    return out


def settled(order: Row) -> bool:
    """PAID, FAILED or CANCELLED, with no cancellation under way."""
    pending = any(c.get("refunded_at") is None for c in json.loads(order.get("cancellations") or "[]"))
    return order["status"] in SETTLED and not pending


def check_liveness(s: Snapshot, now: datetime, limit: timedelta = timedelta(seconds=60)) -> list[str]:
    out = []
    for o in s.orders:
        updated = parse_iso(o["updated_at"])
        if not settled(o) and updated is not None and now - updated > limit:
            out.append(
                f"liveness: order {o['id']} has been {o['status']} (unsettled) since {o['updated_at']}"
            )
    return out


CHECKS = (check_stock, check_points, check_coupons, check_card, check_bnpl, check_totals, check_refunds)


def violations(s: Snapshot, now: datetime) -> list[str]:
    found = [v for check in CHECKS for v in check(s)]
    return found + check_liveness(s, now)
