"""Reading Toss-shaped answers on the client side: the Payment object, a BNPL contract, `{code, message}` errors.

Both the HTTP gateways (toss.py) and the in-process sandbox gateways (sandbox_gateway.py) hear this wire shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from market.kernel.errors import DomainError
from market.payment.ports import BnplContract, Cancel, CardCharge


def charge_from(body: dict[str, Any]) -> CardCharge:
    return CardCharge(
        payment_key=body["paymentKey"],
        order_id=body["orderId"],
        status=body["status"],
        total_amount=body["totalAmount"],
        balance_amount=body["balanceAmount"],
        approved_at=_when(body.get("approvedAt")),
        cancels=_cancels(body.get("cancels")),
    )


def contract_from(body: dict[str, Any]) -> BnplContract:
    return BnplContract(
        contract_id=body["contractId"],
        order_id=body["orderId"],
        amount=body["amount"],
        status=body["status"],
        balance_amount=body.get("balanceAmount"),
        cancels=_cancels(body.get("cancels")),
    )


def _cancels(raw: Any) -> tuple[Cancel, ...]:
    """Toss's `cancels` (null when there is none): each with its transaction key, amount and reason."""
    return tuple(
        Cancel(str(c.get("transactionKey", "")), int(c["cancelAmount"]), str(c.get("cancelReason") or ""))
        for c in raw or ()
        if isinstance(c, dict) and isinstance(c.get("cancelAmount"), int)
    )


def refusal(code: str, body: dict[str, Any]) -> DomainError:
    """Our error `code`, with the provider's message and (when it sent one) its own code."""
    provider_code = body.get("code")
    return DomainError(
        code,
        str(body.get("message", "")),
        provider_code=provider_code if isinstance(provider_code, str) else None,
    )


def _when(text: Any) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(UTC) if isinstance(text, str) else None
