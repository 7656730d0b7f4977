"""The sandbox's BNPL (buy now, pay later) contracts: approve, cancel all or part, one contract per order.

A contract keeps its balance and lists its cancels like a card payment (`cancelAmount`, `cancelReason`);
a contract written before balances were kept has none: its balance is its amount, or 0 once cancelled."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from market.kernel.clock import iso
from market.kernel.db import Row, Tx, for_update
from market.kernel.ids import new_id
from market.pg_sandbox.wire import (
    BNPL_REJECTED,
    DUPLICATED_ORDER_ID,
    INVALID_REQUEST,
    NOT_CANCELABLE_AMOUNT,
    NOT_FOUND_CONTRACT,
    Reply,
    bnpl_contract,
    fail,
    positive,
)


async def approve(tx: Tx, now: datetime, body: Mapping[str, Any]) -> Reply:
    """Approve a contract for the order, unless the test key says to refuse it."""
    key, order_id, member_id, amount = (body.get(f) for f in ("paymentKey", "orderId", "memberId", "amount"))
    if not all(isinstance(v, str) for v in (key, order_id, member_id)) or not positive(amount):
        return fail(INVALID_REQUEST)
    if key == "bnpl_test_reject":
        return fail(BNPL_REJECTED)
    if await tx.fetchone("SELECT 1 AS x FROM sandbox_bnpl_payments WHERE order_id = :o", {"o": order_id}):
        return fail(DUPLICATED_ORDER_ID)
    row = {
        "contract_id": new_id("bnpl"),
        "order_id": order_id,
        "member_id": member_id,
        "amount": amount,
        "balance_amount": amount,
        "status": "APPROVED",
        "approved_at": iso(now),
        "canceled_at": None,
    }
    await tx.execute(
        "INSERT INTO sandbox_bnpl_payments (contract_id, order_id, member_id, amount, balance_amount, status, "
        "approved_at, canceled_at) VALUES (:contract_id, :order_id, :member_id, :amount, :balance_amount, "
        ":status, :approved_at, :canceled_at)",
        row,
    )
    return Reply(200, bnpl_contract(row, []))


async def cancel(tx: Tx, now: datetime, order_id: str, body: Mapping[str, Any]) -> Reply:
    """Cancel the order's contract, or `cancelAmount` of its balance; a cancelled one is answered as it is
    when its balance is asked for, and refused (NOT_CANCELABLE_AMOUNT) when more than its balance is."""
    row = await tx.fetchone(
        f"SELECT * FROM sandbox_bnpl_payments WHERE order_id = :o{for_update(tx.dialect)}",
        {"o": order_id},
    )
    if row is None:
        return fail(NOT_FOUND_CONTRACT)
    balance = _balance(row)
    amount, reason = body.get("cancelAmount", balance), body.get("cancelReason", "cancelled")
    if "cancelAmount" not in body and balance == 0:
        return await reply(tx, order_id)
    if not positive(amount) or not isinstance(reason, str) or not reason:
        return fail(INVALID_REQUEST)
    if amount > balance:
        return fail(NOT_CANCELABLE_AMOUNT)
    left, at = balance - amount, iso(now)
    await tx.execute(
        "UPDATE sandbox_bnpl_payments SET status = :s, balance_amount = :b, canceled_at = :t WHERE contract_id = :c",
        {"s": "CANCELED" if left == 0 else "PARTIAL_CANCELED", "b": left, "t": at, "c": row["contract_id"]},
    )
    await tx.execute(
        "INSERT INTO sandbox_bnpl_cancels (transaction_key, contract_id, cancel_amount, cancel_reason, "
        "refundable_amount, canceled_at) VALUES (:x, :c, :a, :r, :b, :t)",
        {"x": new_id("txn"), "c": row["contract_id"], "a": amount, "r": reason[:200], "b": left, "t": at},
    )
    return await reply(tx, order_id)


async def reply(tx: Tx, order_id: str) -> Reply:
    """The order's contract with its cancels, or NOT_FOUND_CONTRACT."""
    row = await tx.fetchone("SELECT * FROM sandbox_bnpl_payments WHERE order_id = :o", {"o": order_id})
    if row is None:
        return fail(NOT_FOUND_CONTRACT)
    cancels = await tx.fetchall(
        "SELECT * FROM sandbox_bnpl_cancels WHERE contract_id = :c ORDER BY canceled_at, transaction_key",
        {"c": row["contract_id"]},
    )
    return Reply(200, bnpl_contract({**row, "balance_amount": _balance(row)}, cancels))


def _balance(row: Row) -> int:
    if row.get("balance_amount") is not None:
        return int(row["balance_amount"])
    return 0 if row["status"] == "CANCELED" else int(row["amount"])
