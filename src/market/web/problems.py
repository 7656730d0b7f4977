"""RFC 9457 problem+json for every error, with the stable `code` of SPEC §4/§5; never a bare 500."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from market.infra.tracing import trace_ids
from market.kernel.errors import DomainError, Unavailable
from market.web.codes import CODE_OF_STATUS, TITLES, status_of

log = logging.getLogger("market.web")


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """The problem+json answer, with the `trace_id` of the request's trace (SPEC §10.5)."""
    ids = trace_ids()
    body = {
        "type": f"https://market.example/problems/{code.lower().replace('_', '-')}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **({"trace_id": ids[0]} if ids else {}),
        **extra,
    }
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/problem+json", headers=headers
    )


class ApiError(Exception):
    """An HTTP-level refusal raised by routers (auth, idempotency); domain errors stay DomainError."""

    def __init__(
        self, code: str, detail: str, status: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail
        self.status = status or status_of(code)
        self.headers = headers


def _describe(errors: list[Any]) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
        for e in errors
    ]


def response_for(exc: Exception) -> Response | None:
    """The problem+json of an expected error (None for any other): one mapping for every path."""
    if isinstance(exc, DomainError):
        retry = exc.extra.get("retry_after")  # RATE_LIMITED: how long to wait, as the header says it too
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return problem(status_of(exc.code), exc.code, exc.detail, headers, **exc.extra)
    if isinstance(exc, ApiError):
        return problem(exc.status, exc.code, exc.detail, exc.headers)
    if isinstance(exc, RequestValidationError):
        errors = _describe(list(exc.errors()))
        detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
        return problem(422, "VALIDATION_ERROR", detail or "the request is malformed", errors=errors)
    if isinstance(exc, StarletteHTTPException) and exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode (not UTF-8): SPEC §5 makes a malformed body a 422.
        return problem(422, "VALIDATION_ERROR", "the body is not JSON in UTF-8")
    if isinstance(exc, StarletteHTTPException):
        code = CODE_OF_STATUS.get(
            exc.status_code, "VALIDATION_ERROR" if exc.status_code < 500 else "INTERNAL_ERROR"
        )
        return problem(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))
    if isinstance(exc, Unavailable):
        return problem(503, "UPSTREAM_UNAVAILABLE", str(exc), {"Retry-After": "1"})
    return None


def install(app: FastAPI) -> None:
    """Answer every error as problem+json (the OpenAPI document says so: market.web.api_errors)."""

    async def on_expected(_: Request, exc: Exception) -> Response:
        response = response_for(exc)
        if response is None:  # cannot happen for the classes below; a crash rather than a silent 200
            raise exc
        return response

    for expected in (DomainError, ApiError, RequestValidationError, StarletteHTTPException, Unavailable):
        app.add_exception_handler(expected, on_expected)

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> Response:
        # Answered outside the request's span: its trace id was kept in the scope (web.app).
        trace_id = request.scope.get("market.trace_id")  # web.tracing.TRACE_ID
        return crashed(request.method, request.url.path, **({"trace_id": trace_id} if trace_id else {}))


def crashed(method: str, path: str, **extra: Any) -> Response:
    """The 500 of an unexpected error, logged with its traceback: call it in the `except` that caught it."""
    log.exception("unhandled error on %s %s", method, path, extra=extra)
    return problem(500, "INTERNAL_ERROR", "an unexpected error occurred; it has been logged", **extra)
