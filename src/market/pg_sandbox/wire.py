"""The sandbox's answers in the Toss Payments v1 wire shape: the Payment object and `{code, message}` errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from market.kernel.clock import parse_iso
from market.kernel.db import Row

KST = timezone(timedelta(hours=9), "KST")
API_VERSION = "2022-11-16"


@dataclass(frozen=True)
class Reply:
    """One answer of the sandbox. `lost`: the caller hears nothing (an HTTP server drops the connection);
    `status` 0 means nothing was done at all, anything else is what was done but never heard."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    lost: bool = False


NO_ANSWER = Reply(0, {}, lost=True)


def error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message})


# The Toss error codes the sandbox answers with, and their statuses and messages.
INVALID_REQUEST = (400, "INVALID_REQUEST", "잘못된 요청입니다.")
DUPLICATED_ORDER_ID = (400, "DUPLICATED_ORDER_ID", "이미 승인 및 취소가 진행된 중복된 주문번호 입니다.")
ALREADY_CANCELED = (400, "ALREADY_CANCELED_PAYMENT", "이미 취소된 결제 입니다.")
REJECT_CARD = (403, "REJECT_CARD_PAYMENT", "한도초과 혹은 잔액부족으로 결제에 실패했습니다.")
NOT_CANCELABLE_AMOUNT = (403, "NOT_CANCELABLE_AMOUNT", "취소 할 수 없는 금액 입니다.")
NOT_FOUND_PAYMENT = (404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
INTERNAL = (
    500,
    "FAILED_INTERNAL_SYSTEM_PROCESSING",
    "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.",
)
HELD_UNANSWERED = (
    504,
    "GATEWAY_TIMEOUT",
    "The sandbox held this request without answering (a no-answer test key).",
)
BNPL_REJECTED = (403, "BNPL_REJECTED", "후불결제 한도 심사에서 거절되었습니다.")
NOT_FOUND_CONTRACT = (404, "NOT_FOUND_CONTRACT", "존재하지 않는 후불결제 계약 입니다.")


def fail(spec: tuple[int, str, str]) -> Reply:
    return error(*spec)


def positive(amount: object) -> bool:
    """A whole, positive number of won (not a bool, not a string, not a float)."""
    return isinstance(amount, int) and not isinstance(amount, bool) and amount > 0


def kst(text: str | None) -> str | None:
    when = parse_iso(text)
    return None if when is None else when.astimezone(KST).isoformat(timespec="seconds")


def card_payment(row: Row, cancels: list[Row]) -> dict[str, Any]:
    """A card payment as Toss's Payment object describes it."""
    total, balance = int(row["amount"]), int(row["balance_amount"])
    supplied = round(balance / 1.1)
    return {
        "mId": "tosspayments",
        "version": API_VERSION,
        "paymentKey": row["payment_key"],
        "lastTransactionKey": cancels[-1]["transaction_key"] if cancels else row["payment_key"],
        "type": "NORMAL",
        "orderId": row["order_id"],
        "orderName": f"market order {row['order_id']}",
        "method": "카드",
        "currency": "KRW",
        "country": "KR",
        "status": row["status"],
        "requestedAt": kst(row["approved_at"]),
        "approvedAt": kst(row["approved_at"]),
        "totalAmount": total,
        "balanceAmount": balance,
        "suppliedAmount": supplied,
        "vat": balance - supplied,
        "taxFreeAmount": 0,
        "taxExemptionAmount": 0,
        "isPartialCancelable": True,
        "useEscrow": False,
        "cultureExpense": False,
        "card": {
            "amount": total,
            "issuerCode": "71",
            "acquirerCode": "71",
            "number": "43301234****123*",
            "installmentPlanMonths": 0,
            "approveNo": row["payment_key"][-8:],
            "useCardPoint": False,
            "cardType": "신용",
            "ownerType": "개인",
            "acquireStatus": "READY",
            "isInterestFree": False,
        },
        "cancels": [_cancel(c) for c in cancels] or None,
        "failure": None,
        "easyPay": None,
        "discount": None,
        "secret": None,
        "receipt": {"url": f"https://sandbox.market.test/receipts/{row['payment_key']}"},
    }


def _cancel(c: Row) -> dict[str, Any]:
    return {
        "transactionKey": c["transaction_key"],
        "cancelAmount": int(c["cancel_amount"]),
        "cancelReason": c["cancel_reason"],
        "canceledAt": kst(c["canceled_at"]),
        "refundableAmount": int(c["refundable_amount"]),
        "taxFreeAmount": 0,
        "taxExemptionAmount": 0,
        "easyPayDiscountAmount": 0,
        "cancelStatus": "DONE",
        "cancelRequestId": None,
    }


def bnpl_contract(row: Row, cancels: list[Row]) -> dict[str, Any]:
    return {
        "contractId": row["contract_id"],
        "orderId": row["order_id"],
        "memberId": row["member_id"],
        "amount": int(row["amount"]),
        "balanceAmount": int(row["balance_amount"]),
        "currency": "KRW",
        "status": row["status"],
        "approvedAt": kst(row["approved_at"]),
        "canceledAt": kst(row["canceled_at"]),
        "cancels": [_cancel(c) for c in cancels] or None,
    }


def parse_kst(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
