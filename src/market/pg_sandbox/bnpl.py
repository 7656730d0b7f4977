"""The sandbox's BNPL (buy now, pay later) contracts: approve and cancel, one contract per order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from market.kernel.clock import iso
from market.kernel.db import Tx, for_update
from market.kernel.ids import new_id
from market.pg_sandbox.wire import (
    BNPL_REJECTED,
    DUPLICATED_ORDER_ID,
    INVALID_REQUEST,
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
        "status": "APPROVED",
        "approved_at": iso(now),
        "canceled_at": None,
    }
    await tx.execute(
        "INSERT INTO sandbox_bnpl_payments (contract_id, order_id, member_id, amount, status, approved_at, "
        "canceled_at) VALUES (:contract_id, :order_id, :member_id, :amount, :status, :approved_at, :canceled_at)",
        row,
    )
    return Reply(200, bnpl_contract(row))


async def cancel(tx: Tx, now: datetime, order_id: str) -> Reply:
    """Cancel the order's contract; a cancelled one is answered as it is."""
    row = await tx.fetchone(
        f"SELECT * FROM sandbox_bnpl_payments WHERE order_id = :o{for_update(tx.dialect)}",
        {"o": order_id},
    )
    if row is None:
        return fail(NOT_FOUND_CONTRACT)
    if row["status"] != "CANCELED":
        row = {**row, "status": "CANCELED", "canceled_at": iso(now)}
        await tx.execute(
            "UPDATE sandbox_bnpl_payments SET status = :s, canceled_at = :t WHERE contract_id = :c",
            {"s": row["status"], "t": row["canceled_at"], "c": row["contract_id"]},
        )
    return Reply(200, bnpl_contract(row))
