"""The stable error codes' HTTP statuses and titles (SPEC §4, §5): read by the problem+json answers
(`problems`) and by the OpenAPI document that lists them (`api_errors`)."""

from __future__ import annotations

STATUS_OF_CODE: dict[str, int] = {
    "OUT_OF_STOCK": 409,
    "ORDER_NOT_CANCELLABLE": 409,
    "CANCEL_WINDOW_EXPIRED": 409,
    "IDEMPOTENCY_KEY_IN_USE": 409,
    "EMAIL_TAKEN": 409,
    "STOCK_RELEASED": 409,
    "PRICE_CHANGED": 409,
    "POINTS_REFUNDED": 409,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "RATE_LIMITED": 429,
    "UPSTREAM_UNAVAILABLE": 503,
    "NOT_READY": 503,
    "INTERNAL_ERROR": 500,
}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
CODE_OF_STATUS = {
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


def status_of(code: str) -> int:
    """Every business-rule code answers 422 unless SPEC names another status."""
    return STATUS_OF_CODE.get(code, 422)
