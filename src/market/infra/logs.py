"""Log lines: JSON (one object per line: time, level, service, replica, logger, message, `trace_id`,
`span_id`, `order_id`) or text, and the access log (a line per request, gRPC call and event handled).

The trace and span ids are the current OpenTelemetry span's (`infra.tracing`); the order id is `ORDER_ID`,
which the REST adapters, the gRPC servers and the consumers set when they know the order.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

ORDER_ID: ContextVar[str | None] = ContextVar("market_order_id", default=None)
# A line per REST request, gRPC call and event handled, with its trace and order: MARKET_ACCESS_LOG.
ACCESS = logging.getLogger("market.access")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Correlation(logging.Filter):
    """Adds the service, the replica, and the trace, span and order of the line's context to each record."""

    def __init__(self, service: str, replica: str) -> None:
        super().__init__()
        self.service, self.replica = service, replica

    def filter(self, record: logging.LogRecord) -> bool:
        record.service, record.replica = self.service, self.replica
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id, record.span_id = format(span.trace_id, "032x"), format(span.span_id, "016x")
        order_id = ORDER_ID.get()
        if order_id is not None:
            record.order_id = order_id
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(levelname)s %(service)s %(replica)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's copy of its message, with ANSI colours
    )


def configure(*, service: str, replica: str, level: str, json: bool, access: bool) -> None:
    """Route every logger (uvicorn's too) to stdout, one line per record."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(json_formatter() if json else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(Correlation(service, replica))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    ACCESS.setLevel(logging.INFO if access else logging.WARNING)
