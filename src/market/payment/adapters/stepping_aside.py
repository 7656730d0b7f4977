"""The PG and BNPL gateways, stepping aside while they wait (market.infra.lanes.stepping_aside).

A payment runs as an event handler, and its partition handles one event at a time. While the payment
waits on the PG or the BNPL provider, which may take seconds, these wrappers give its slot to the
partition's next order, so one slow answer does not hold up every order behind it. Outside an event
handler (a refund over HTTP, the reconciler) they only pass the call on.
"""

from __future__ import annotations

from market.infra.lanes import stepping_aside
from market.payment.ports import BnplContract, BnplGateway, CardCharge, CardGateway


class SteppingAsideCards:
    def __init__(self, inner: CardGateway) -> None:
        self._inner = inner

    async def confirm(self, payment_key: str, order_id: str, amount: int) -> CardCharge:
        async with stepping_aside():
            return await self._inner.confirm(payment_key, order_id, amount)

    async def cancel(self, pg_payment_key: str, reason: str, amount: int | None = None) -> CardCharge:
        async with stepping_aside():
            return await self._inner.cancel(pg_payment_key, reason, amount)

    async def lookup(self, order_id: str) -> CardCharge | None:
        async with stepping_aside():
            return await self._inner.lookup(order_id)


class SteppingAsideBnpl:
    def __init__(self, inner: BnplGateway) -> None:
        self._inner = inner

    async def approve(self, payment_key: str, order_id: str, member_id: str, amount: int) -> BnplContract:
        async with stepping_aside():
            return await self._inner.approve(payment_key, order_id, member_id, amount)

    async def cancel(self, order_id: str) -> BnplContract | None:
        async with stepping_aside():
            return await self._inner.cancel(order_id)

    async def lookup(self, order_id: str) -> BnplContract | None:
        async with stepping_aside():
            return await self._inner.lookup(order_id)
