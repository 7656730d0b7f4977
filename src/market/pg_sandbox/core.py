"""The PG and BNPL sandbox of SPEC §7: the core, independent of transport, over its own database.

A separate system that plays the PG: no service imports it. The HTTP server (`http.py`) and the embedded
mode's in-process transport (`transport.py`) both answer through `Sandbox.dispatch`, one route table.

It answers like the Toss Payments v1 API (confirm, cancel, lookup by orderId; `Idempotency-Key` on every
POST: the same key gets the stored answer back) so an HTTP server can wrap it as is. It mints its own payment
key per charge; the client's key is a test card that picks the outcome (`TEST_KEYS`). Charges are rows in a
database, so a crash or restart forgets none. A 5xx answer is not stored under its idempotency key: nothing
was done, and a retry must be able to succeed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from market.kernel.clock import Clock, iso
from market.kernel.db import Database, Tx, for_update, insert_ignore
from market.kernel.ids import new_id
from market.pg_sandbox import bnpl, wire
from market.pg_sandbox.faults import Faults
from market.pg_sandbox.migrations import HISTORY as MIGRATIONS
from market.pg_sandbox.wire import NO_ANSWER, Reply, fail

__all__ = ["MIGRATIONS", "TEST_KEYS", "Reply", "Sandbox"]

SLOW_SECONDS = 1.0

TEST_KEYS = {
    "pk_test_ok": "approved (as is any key not listed here)",
    "pk_test_decline": "declined: 403 REJECT_CARD_PAYMENT",
    "pk_test_timeout": "no answer, nothing charged",
    "pk_test_timeout_after_charge": "charged, but the answer is lost",
    "pk_test_5xx_once": "one 500 per order, then approved",
    "pk_test_slow": f"approved after {SLOW_SECONDS} s (lets a client see its request in flight)",
    "bnpl_test_reject": "BNPL credit refused: 403 BNPL_REJECTED",
}

Operation = Callable[[Tx], Awaitable[Reply]]


# The wire API's routes: method, path, whether a JSON object body is required, and how the core answers.
Route = Callable[["Sandbox", re.Match[str], dict[str, Any], str | None], Awaitable[Reply]]
ROUTES: list[tuple[str, re.Pattern[str], bool, Route]] = [
    ("POST", re.compile(r"/v1/payments/confirm"), True, lambda s, m, b, k: s.confirm(b, k)),
    ("POST", re.compile(r"/v1/payments/([^/]+)/cancel"), True, lambda s, m, b, k: s.cancel(unquote(m[1]), b, k)),
    ("GET", re.compile(r"/v1/payments/orders/([^/]+)"), False, lambda s, m, b, k: s.payment_by_order(unquote(m[1]))),
    ("GET", re.compile(r"/v1/payments/([^/]+)"), False, lambda s, m, b, k: s.payment(unquote(m[1]))),
    ("POST", re.compile(r"/v1/bnpl/approvals"), True, lambda s, m, b, k: s.bnpl_approve(b, k)),
    ("POST", re.compile(r"/v1/bnpl/orders/([^/]+)/cancel"), False, lambda s, m, b, k: s.bnpl_cancel(unquote(m[1]), k, b)),
    ("GET", re.compile(r"/v1/bnpl/orders/([^/]+)"), False, lambda s, m, b, k: s.bnpl_by_order(unquote(m[1]))),
]  # fmt: skip
NOT_FOUND_ROUTE = (404, "NOT_FOUND", "No such API.")


class Sandbox:
    """The PG (card) and BNPL sandbox. Every method is one request and answers a `Reply`."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self._clock = clock
        self.faults = Faults()  # none until `market chaos` asks (PUT /sandbox/faults)

    async def dispatch(
        self, method: str, path: str, body: dict[str, Any] | None, idempotency_key: str | None
    ) -> Reply:
        """The answer to one request of the wire API (a POST's body is a JSON object, else INVALID_REQUEST)."""
        for verb, pattern, needs_body, route in ROUTES:
            if verb == method and (match := pattern.fullmatch(path)) is not None:
                if needs_body and not isinstance(body, dict):
                    return fail(wire.INVALID_REQUEST)
                return await route(self, match, body or {}, idempotency_key)
        return fail(NOT_FOUND_ROUTE)

    async def confirm(self, body: Mapping[str, Any], idempotency_key: str | None = None) -> Reply:
        """POST /v1/payments/confirm {paymentKey, orderId, amount}."""
        if body.get("paymentKey") == "pk_test_slow":
            await asyncio.sleep(SLOW_SECONDS)  # before any transaction: a slow PG holds no lock
        return await self._once("confirm", idempotency_key, lambda tx: self._confirm(tx, body))

    async def cancel(
        self, payment_key: str, body: Mapping[str, Any], idempotency_key: str | None = None
    ) -> Reply:
        """POST /v1/payments/{paymentKey}/cancel {cancelReason, cancelAmount?}: the balance, or part of it."""
        return await self._once("cancel", idempotency_key, lambda tx: self._cancel(tx, payment_key, body))

    async def payment_by_order(self, order_id: str) -> Reply:
        """GET /v1/payments/orders/{orderId}."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM sandbox_card_payments WHERE order_id = :o", {"o": order_id}
            )
            return await self._card_reply(tx, row)

    async def payment(self, payment_key: str) -> Reply:
        """GET /v1/payments/{paymentKey}."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM sandbox_card_payments WHERE payment_key = :k", {"k": payment_key}
            )
            return await self._card_reply(tx, row)

    async def bnpl_approve(self, body: Mapping[str, Any], idempotency_key: str | None = None) -> Reply:
        """POST /v1/bnpl/approvals {paymentKey, orderId, memberId, amount}."""
        return await self._once(
            "bnpl-approve", idempotency_key, lambda tx: bnpl.approve(tx, self._clock.now(), body)
        )

    async def bnpl_cancel(
        self, order_id: str, idempotency_key: str | None = None, body: Mapping[str, Any] | None = None
    ) -> Reply:
        """POST /v1/bnpl/orders/{orderId}/cancel {cancelAmount?, cancelReason?}: the balance (cancelling a
        cancelled contract answers it again), or part of it."""
        return await self._once(
            "bnpl-cancel",
            idempotency_key,
            lambda tx: bnpl.cancel(tx, self._clock.now(), order_id, body or {}),
        )

    async def bnpl_by_order(self, order_id: str) -> Reply:
        """GET /v1/bnpl/orders/{orderId}."""
        async with self.db.transaction() as tx:
            return await bnpl.reply(tx, order_id)

    async def _once(self, operation: str, key: str | None, run: Operation) -> Reply:
        """Run a POST in one transaction, answering a repeated idempotency key with the stored answer."""
        idem_key = f"{operation}:{key}" if key else None
        async with self.db.transaction() as tx:
            if idem_key is not None:
                stored = await tx.fetchone(
                    "SELECT status_code, body FROM sandbox_idempotency WHERE idem_key = :k", {"k": idem_key}
                )
                if stored is not None:
                    return Reply(int(stored["status_code"]), orjson.loads(stored["body"]))
            reply = await run(tx)
            if idem_key is not None and 0 < reply.status < 500:
                await tx.execute(
                    "INSERT INTO sandbox_idempotency (idem_key, status_code, body, created_at) "
                    "VALUES (:k, :s, :b, :t)",
                    {
                        "k": idem_key,
                        "s": reply.status,
                        "b": orjson.dumps(reply.body).decode(),
                        "t": iso(self._clock.now()),
                    },
                )
            return reply

    async def _confirm(self, tx: Tx, body: Mapping[str, Any]) -> Reply:
        test_key, order_id, amount = body.get("paymentKey"), body.get("orderId"), body.get("amount")
        if not isinstance(test_key, str) or not isinstance(order_id, str) or not wire.positive(amount):
            return fail(wire.INVALID_REQUEST)
        if test_key == "pk_test_timeout":
            return NO_ANSWER
        if test_key == "pk_test_decline":
            return fail(wire.REJECT_CARD)
        fault = self.faults.of(order_id)
        if (test_key == "pk_test_5xx_once" or fault == "5xx") and await self._first_fault(
            tx, order_id, "5xx_once"
        ):
            return fail(wire.INTERNAL)
        if await tx.fetchone("SELECT 1 AS x FROM sandbox_card_payments WHERE order_id = :o", {"o": order_id}):
            return fail(wire.DUPLICATED_ORDER_ID)
        row = {
            "payment_key": new_id("tpk"),
            "order_id": order_id,
            "test_key": test_key,
            "amount": amount,
            "balance_amount": amount,
            "status": "DONE",
            "approved_at": iso(self._clock.now()),
            "canceled_at": None,
        }
        await tx.execute(
            "INSERT INTO sandbox_card_payments (payment_key, order_id, test_key, amount, balance_amount, status, "
            "approved_at, canceled_at) VALUES (:payment_key, :order_id, :test_key, :amount, :balance_amount, "
            ":status, :approved_at, :canceled_at)",
            row,
        )
        lost = test_key == "pk_test_timeout_after_charge" or fault == "lost"
        return Reply(200, wire.card_payment(row, []), lost=lost)

    async def _cancel(self, tx: Tx, payment_key: str, body: Mapping[str, Any]) -> Reply:
        row = await tx.fetchone(
            f"SELECT * FROM sandbox_card_payments WHERE payment_key = :k{for_update(tx.dialect)}",
            {"k": payment_key},
        )
        if row is None:
            return fail(wire.NOT_FOUND_PAYMENT)
        if row["status"] == "CANCELED":
            return fail(wire.ALREADY_CANCELED)
        reason, amount = body.get("cancelReason"), body.get("cancelAmount", row["balance_amount"])
        if not isinstance(reason, str) or not reason or not wire.positive(amount):
            return fail(wire.INVALID_REQUEST)
        if amount > row["balance_amount"]:
            return fail(wire.NOT_CANCELABLE_AMOUNT)
        now, balance = iso(self._clock.now()), row["balance_amount"] - amount
        status = "CANCELED" if balance == 0 else "PARTIAL_CANCELED"
        await tx.execute(
            "UPDATE sandbox_card_payments SET balance_amount = :b, status = :s, canceled_at = :t WHERE payment_key = :k",
            {"b": balance, "s": status, "t": now, "k": payment_key},
        )
        await tx.execute(
            "INSERT INTO sandbox_card_cancels (transaction_key, payment_key, cancel_amount, cancel_reason, "
            "refundable_amount, canceled_at) VALUES (:x, :k, :a, :r, :b, :t)",
            {"x": new_id("txn"), "k": payment_key, "a": amount, "r": reason[:200], "b": balance, "t": now},
        )
        return await self._card_reply(
            tx, {**row, "balance_amount": balance, "status": status, "canceled_at": now}
        )

    async def _card_reply(self, tx: Tx, row: Mapping[str, Any] | None) -> Reply:
        if row is None:
            return fail(wire.NOT_FOUND_PAYMENT)
        cancels = await tx.fetchall(
            "SELECT * FROM sandbox_card_cancels WHERE payment_key = :k ORDER BY canceled_at, transaction_key",
            {"k": row["payment_key"]},
        )
        return Reply(200, wire.card_payment(dict(row), cancels))

    async def _first_fault(self, tx: Tx, order_id: str, fault: str) -> bool:
        """True the first time this fault is asked for this order (it is remembered across restarts)."""
        changed = await tx.execute(
            f"{insert_ignore(tx.dialect)} INTO sandbox_faults (order_id, fault, served_at) VALUES (:o, :f, :t)",
            {"o": order_id, "f": fault, "t": iso(self._clock.now())},
        )
        return changed == 1
