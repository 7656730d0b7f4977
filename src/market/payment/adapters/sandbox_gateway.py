"""The `CardGateway` and `BnplGateway` ports over the in-process sandbox, reading its Toss-shaped answers.

No answer is a `GatewayTimeout` at once (nothing to wait for in process); a 5xx is retried once, which is
safe because every POST carries an idempotency key derived from what it does; declines are DomainErrors.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from market.kernel.errors import Unavailable
from market.payment.adapters.sandbox import Reply, Sandbox
from market.payment.adapters.toss_wire import charge_from, contract_from, refusal
from market.payment.ports import DONE, BnplContract, CardCharge, GatewayTimeout

log = logging.getLogger("market.payment.pg")


async def _call(what: str, request: Callable[[], Awaitable[Reply]]) -> Reply:
    """One request, retried once on a 5xx; no answer → GatewayTimeout; the sandbox itself failing → Unavailable."""
    for _ in range(2):
        try:
            reply = await request()
        except Exception as exc:
            log.exception("the %s sandbox failed", what)
            raise Unavailable(what) from exc
        if reply.lost:
            raise GatewayTimeout(what)
        if reply.status < 500:
            return reply
        log.warning("%s answered %s %s; retrying once", what, reply.status, reply.body.get("code"))
    raise Unavailable(what)


class SandboxCardGateway:
    """`CardGateway` over the sandbox's Toss v1 API (confirm, cancel, lookup by order id)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    async def confirm(self, payment_key: str, order_id: str, amount: int) -> CardCharge:
        body = {"paymentKey": payment_key, "orderId": order_id, "amount": amount}
        reply = await _call("PG", lambda: self._sandbox.confirm(body, f"confirm-{order_id}"))
        if reply.status == 200:
            return charge_from(reply.body)
        if reply.body.get("code") == "DUPLICATED_ORDER_ID":
            # Charged by an earlier request for this order: that charge is the answer if it matches.
            found = await self.lookup(order_id)
            if found is not None and found.status == DONE and found.total_amount == amount:
                return found
        raise refusal("PG_DECLINED", reply.body)

    async def cancel(self, pg_payment_key: str, reason: str, amount: int | None = None) -> CardCharge:
        """A repeated cancel of the same amount of the same charge is the same request (one idempotency key)."""
        body: dict[str, Any] = {"cancelReason": reason}
        if amount is not None:
            body["cancelAmount"] = amount
        key = f"cancel-{pg_payment_key}-{amount if amount is not None else 'all'}"
        reply = await _call("PG", lambda: self._sandbox.cancel(pg_payment_key, body, key))
        if reply.status == 200:
            return charge_from(reply.body)
        if reply.body.get("code") == "ALREADY_CANCELED_PAYMENT":
            current = await _call("PG", lambda: self._sandbox.payment(pg_payment_key))
            if current.status == 200:
                return charge_from(current.body)
        raise refusal("PG_CANCEL_REFUSED", reply.body)

    async def lookup(self, order_id: str) -> CardCharge | None:
        reply = await _call("PG", lambda: self._sandbox.payment_by_order(order_id))
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise refusal("PG_LOOKUP_REFUSED", reply.body)
        return charge_from(reply.body)


class SandboxBnplGateway:
    """`BnplGateway` over the sandbox's BNPL API."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    async def approve(self, payment_key: str, order_id: str, member_id: str, amount: int) -> BnplContract:
        body = {"paymentKey": payment_key, "orderId": order_id, "memberId": member_id, "amount": amount}
        reply = await _call("BNPL", lambda: self._sandbox.bnpl_approve(body, f"approve-{order_id}"))
        if reply.status == 200:
            return contract_from(reply.body)
        if reply.body.get("code") == "DUPLICATED_ORDER_ID":
            found = await self.lookup(order_id)
            if found is not None and found.status == "APPROVED" and found.amount == amount:
                return found
        raise refusal("BNPL_REJECTED", reply.body)

    async def cancel(self, order_id: str) -> BnplContract | None:
        reply = await _call("BNPL", lambda: self._sandbox.bnpl_cancel(order_id, f"cancel-{order_id}"))
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise refusal("BNPL_CANCEL_REFUSED", reply.body)
        return contract_from(reply.body)

    async def lookup(self, order_id: str) -> BnplContract | None:
        reply = await _call("BNPL", lambda: self._sandbox.bnpl_by_order(order_id))
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise refusal("BNPL_LOOKUP_REFUSED", reply.body)
        return contract_from(reply.body)
