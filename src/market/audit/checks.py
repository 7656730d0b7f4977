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
CAPTURED = {"DONE", "PARTIAL_CANCELED"}


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
    outbox_backlog: int = 0


async def _rows(db: Database, sql: str) -> list[Row]:
    async with db.transaction() as tx:
        return await tx.fetchall(sql)


async def read_snapshot(dbs: dict[str, Database]) -> Snapshot:
    s = Snapshot()
    s.members = await _rows(dbs["member"], "SELECT id, point_balance FROM members")
    s.ledger = await _rows(dbs["member"], "SELECT member_id, delta, order_id, kind FROM point_ledger")
    s.products = await _rows(dbs["product"], "SELECT id, stock, stock_received FROM products")
    s.reservations = await _rows(
        dbs["product"], "SELECT order_id, product_id, quantity, status FROM reservations"
    )
    s.orders = await _rows(
        dbs["order"], "SELECT id, status, total_amount, items, payments, updated_at FROM orders"
    )
    s.payments = await _rows(dbs["payment"], "SELECT order_id, status, total_amount, legs FROM payments")
    s.coupons = await _rows(dbs["payment"], "SELECT id, status, order_id FROM issued_coupons")
    s.captures = await _rows(
        dbs["pg"], "SELECT order_id, amount, balance_amount, status FROM sandbox_card_payments"
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
    twice = Counter((e["order_id"], e["kind"]) for e in s.ledger if e["order_id"])
    out += [f"points: order {o} has {n} {k} ledger rows" for (o, k), n in twice.items() if n > 1]
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
    return out


def check_card(s: Snapshot) -> list[str]:
    out = []
    orders = {o["id"]: o for o in s.orders}
    captured = {c["order_id"]: c for c in s.captures if c["status"] in CAPTURED}
    for order_id, c in captured.items():
        status = orders[order_id]["status"] if order_id in orders else "unknown"
        if status not in {"PAID", "CANCELLING"}:
            out.append(f"card: {c['balance_amount']} won captured for order {order_id} which is {status}")
    for o in s.orders:
        pg = [leg for leg in _legs(o) if leg.get("method") == "PG"]
        if o["status"] == "PAID" and pg:
            capture = captured.get(o["id"])
            if capture is None or capture["balance_amount"] != pg[0]["amount"]:
                out.append(f"card: PAID order {o['id']} lacks its capture of {pg[0]['amount']} won")
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


def check_liveness(s: Snapshot, now: datetime, limit: timedelta = timedelta(seconds=60)) -> list[str]:
    out = []
    for o in s.orders:
        updated = parse_iso(o["updated_at"])
        if o["status"] not in SETTLED and updated is not None and now - updated > limit:
            out.append(f"liveness: order {o['id']} has been {o['status']} since {o['updated_at']}")
    return out


CHECKS = (check_stock, check_points, check_coupons, check_card, check_totals)


def violations(s: Snapshot, now: datetime) -> list[str]:
    found = [v for check in CHECKS for v in check(s)]
    return found + check_liveness(s, now)
