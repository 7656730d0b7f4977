"""The errors each operation of the public API can answer, written into its OpenAPI document (SPEC §5).

Every error is `application/problem+json` (`Problem` below) with a stable `code`; the document lists, per
operation and status, the codes that status can carry, so a client generated from it knows them all.
`ROUTE_ERRORS` is the one table of what the routes themselves answer; a code's status is
`problems.status_of`. Every `/api/v1` operation can also answer what is not the route's own doing (`EDGE`):
500 `INTERNAL_ERROR` for an unexpected error, 413 `PAYLOAD_TOO_LARGE` (a body over 1 MiB: the app's own cap,
MARKET_MAX_BODY_BYTES, and the gateway's), and in the distributed mode the gateway's 429 `RATE_LIMITED` and
502/503/504 `UPSTREAM_UNAVAILABLE` (a service that did not answer; a service answers 503
`UPSTREAM_UNAVAILABLE` itself when one it calls does not).
`tests/unit/test_openapi_doc.py` keeps this table and the routes in step, and the REST and end-to-end suites
check every answer they get against the document (`tests/openapi_conformance.py`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from market.web.codes import status_of

_MEMBER = ("UNAUTHORIZED",)
_ADMIN = ("UNAUTHORIZED", "FORBIDDEN")
_INPUT = ("VALIDATION_ERROR",)
_KEYED = ("IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_KEY_IN_USE")
# SPEC §4's codes before the stock, in the order it checks them (placing and its preview).
_ORDER_RULES = (
    "TOO_MANY_ITEMS",
    "INVALID_QUANTITY",
    "DUPLICATE_PRODUCT",
    "DUPLICATE_PAYMENT_METHOD",
    "BNPL_COMPOSITE_NOT_ALLOWED",
    "COUPON_STANDALONE_NOT_ALLOWED",
    "COMPOSITE_REQUIRES_PG",
    "BNPL_MIN_AMOUNT",
    "PRODUCT_NOT_FOUND",
    "PRODUCT_NOT_ON_SALE",
    "AMOUNT_MISMATCH",
    "COUPON_NOT_APPLICABLE",
    "INSUFFICIENT_POINTS",
)

ROUTE_ERRORS: dict[tuple[str, str], tuple[str, ...]] = {
    # SPEC §10.5's login throttle: per email and per client address; sign-ups per address.
    ("POST", "/api/v1/auth/token"): (*_INPUT, "UNAUTHORIZED", "RATE_LIMITED"),
    ("POST", "/api/v1/members"): (*_INPUT, "EMAIL_TAKEN", "RATE_LIMITED"),
    ("GET", "/api/v1/members/me"): (*_MEMBER, "NOT_FOUND"),
    ("GET", "/api/v1/members/me/points"): (*_MEMBER, *_INPUT),
    ("GET", "/api/v1/members/{member_id}"): (*_MEMBER, *_INPUT, "NOT_FOUND"),
    ("POST", "/api/v1/admin/members/{member_id}/points"): (
        *_ADMIN,
        *_INPUT,
        "NOT_FOUND",
        "INSUFFICIENT_POINTS",
    ),
    ("GET", "/api/v1/products"): _INPUT,
    ("GET", "/api/v1/products/{product_id}"): (*_INPUT, "NOT_FOUND"),
    ("POST", "/api/v1/admin/sellers"): (*_ADMIN, *_INPUT),
    ("POST", "/api/v1/admin/products"): (*_ADMIN, *_INPUT, "SELLER_NOT_FOUND"),
    ("PATCH", "/api/v1/admin/products/{product_id}"): (*_ADMIN, *_INPUT, "NOT_FOUND"),
    # SPEC §4's codes, in the order it checks them; then the member's own standing.
    ("POST", "/api/v1/orders"): (
        *_MEMBER,
        *_INPUT,
        *_KEYED,
        *_ORDER_RULES,
        "OUT_OF_STOCK",
        "PRICE_CHANGED",
        "FORBIDDEN",
        "NOT_FOUND",
    ),
    ("POST", "/api/v1/orders/preview"): (*_MEMBER, *_INPUT, *_ORDER_RULES, "FORBIDDEN", "NOT_FOUND"),
    ("GET", "/api/v1/orders"): (*_MEMBER, *_INPUT),
    ("GET", "/api/v1/orders/{order_id}"): (*_MEMBER, *_INPUT, "NOT_FOUND"),
    ("POST", "/api/v1/orders/{order_id}/cancel"): (
        *_MEMBER,
        *_INPUT,
        *_KEYED,
        "NOT_FOUND",
        "ORDER_NOT_CANCELLABLE",
        "CANCEL_WINDOW_EXPIRED",
        "PRODUCT_NOT_IN_ORDER",
        "CANCEL_QUANTITY_EXCEEDED",
    ),
    ("POST", "/api/v1/orders/{order_id}/cancel/preview"): (
        *_MEMBER,
        *_INPUT,
        "NOT_FOUND",
        "ORDER_NOT_CANCELLABLE",
        "CANCEL_WINDOW_EXPIRED",
        "PRODUCT_NOT_IN_ORDER",
        "CANCEL_QUANTITY_EXCEEDED",
    ),
    ("GET", "/api/v1/payments"): (*_MEMBER, *_INPUT, "NOT_FOUND"),
    # The read side (SPEC §10.2): the read model's search and statistics.
    ("GET", "/api/v1/admin/orders"): (*_ADMIN, *_INPUT),
    ("GET", "/api/v1/admin/stats/sales"): (*_ADMIN, *_INPUT),
    ("GET", "/api/v1/members/me/coupons"): (*_MEMBER, *_INPUT),
    ("POST", "/api/v1/admin/coupons"): (*_ADMIN, *_INPUT),
    ("POST", "/api/v1/admin/coupons/{coupon_id}/issue"): (*_ADMIN, *_INPUT, "NOT_FOUND"),
    ("GET", "/api/v1/admin/platform"): _ADMIN,
    ("GET", "/healthz"): (),
    ("GET", "/readyz"): ("NOT_READY",),
    ("GET", "/metrics"): _ADMIN,
}

# What any /api/v1 operation may answer besides its own codes: (status, code, when).
EDGE: tuple[tuple[int, str, str], ...] = (
    (500, "INTERNAL_ERROR", "an unexpected error (logged with its traceback)"),
    (429, "RATE_LIMITED", "distributed mode: the gateway's rate limit; retry after `Retry-After` seconds"),
    (502, "UPSTREAM_UNAVAILABLE", "distributed mode: the gateway got no usable answer from the service"),
    (503, "UPSTREAM_UNAVAILABLE", "a service this request needs did not answer; retry after `Retry-After`"),
    (504, "UPSTREAM_UNAVAILABLE", "distributed mode: the service did not answer the gateway in time"),
)
BODY_EDGE = (413, "PAYLOAD_TOO_LARGE", "a body over 1 MiB (MARKET_MAX_BODY_BYTES; the gateway's limit too)")

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. `code` is stable; rules add members of their own "
    "(e.g. `product_id`, `expected_total`, `point_balance`).",
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "title": "Type"},
        "title": {"type": "string", "title": "Title"},
        "status": {"type": "integer", "title": "Status"},
        "detail": {"type": "string", "title": "Detail"},
        "code": {"type": "string", "title": "Code"},
        "trace_id": {
            "type": "string",
            "title": "Trace Id",
            "description": "the request's trace (W3C trace id): quote it when reporting a problem",
        },
        "errors": {
            "type": "array",
            "title": "Errors",
            "description": "VALIDATION_ERROR: each field that failed, as `body.items.0.quantity`",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
_PROBLEM_REF = "#/components/schemas/Problem"
_FRAMEWORK_SCHEMAS = ("HTTPValidationError", "ValidationError")


def errors_of(method: str, path: str, has_body: bool) -> dict[int, list[tuple[str, str]]]:
    """Status → [(code, when)] that an operation can answer; the route's own codes first."""
    by_status: dict[int, list[tuple[str, str]]] = {}
    for code in ROUTE_ERRORS.get((method, path), ("VALIDATION_ERROR",)):
        by_status.setdefault(status_of(code), []).append((code, ""))
    if path.startswith("/api/"):
        for status, code, when in (*EDGE, *([BODY_EDGE] if has_body else [])):
            by_status.setdefault(status, []).append((code, when))
    return by_status


def _response(entries: list[tuple[str, str]]) -> dict[str, Any]:
    lines = [f"`{code}`" + (f": {when}" if when else "") for code, when in entries]
    codes = list(dict.fromkeys(code for code, _ in entries))
    schema = {"allOf": [{"$ref": _PROBLEM_REF}, {"properties": {"code": {"enum": codes}}}]}
    return {"description": "; ".join(lines), "content": {"application/problem+json": {"schema": schema}}}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Write every operation's error answers into `schema` (FastAPI's document), in place; return it.

    FastAPI's own 422 (`HTTPValidationError`, as application/json) is not what the API answers: it goes.
    """
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            has_body = "requestBody" in operation
            for status, entries in sorted(errors_of(method.upper(), path, has_body).items()):
                responses[str(status)] = _response(entries)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FRAMEWORK_SCHEMAS:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    return schema


def install(app: FastAPI) -> None:
    """Write every operation's problem+json answers into the app's OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
