"""Traces (OpenTelemetry): one order is one trace, across every service and every transport.

A request's W3C `traceparent` (or a new trace) is the REST server span's parent (`web.tracing`); gRPC carries it
in its metadata (`infra.grpc`); an event carries the context it was written in:
the outbox row's `traceparent` column (`infra.outbox`), then a Kafka record header or the envelope's `trace`
on the in-process bus; the consumer continues that trace (`consuming`, below), and a payment driven in the
background runs in its event's context (`event_context`); the PG call is a client span with the header.

Spans are exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set, with
the SDK's own `OTEL_*` settings. Otherwise nothing is recorded: the sampler drops every span, and a dropped
span still gets its ids, so trace ids still travel and still go into every log line, for next to nothing.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from market.infra.logs import ORDER_ID
from market.kernel.events import Envelope

if TYPE_CHECKING:
    from fastapi.telemetry import TelemetryConfig

TRACEPARENT = "traceparent"
# For FastAPI(telemetry=...): FastAPI's own OpenTelemetry, on whenever a tracer provider is set (as `setup`
# sets one), adds four spans, a histogram and a log check to every request, which more than doubled the
# CPU of a request that does little (docs/performance.md). A request's span is web.tracing's.
NO_FASTAPI_TELEMETRY: TelemetryConfig = {
    "tracing": False, "metrics": False, "logs": False, "operation_spans": False, "auto_configure": False,
}  # fmt: skip
_tracer = trace.get_tracer("market")
_configured: list[str] = []


def exporting() -> bool:
    """Whether spans leave the process (an OTLP endpoint is configured)."""
    return any(
        os.environ.get(v) for v in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def setup(service: str, replica: str = "") -> None:
    """The process's tracer provider (once per process: later calls change nothing)."""
    if _configured:
        return
    resource = Resource.create({"service.name": f"market-{service}", "service.instance.id": replica})
    provider = TracerProvider(resource=resource, sampler=None if exporting() else ALWAYS_OFF)
    if exporting():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured.append(service)


def trace_ids() -> tuple[str, str] | None:
    """The current (trace id, span id) in hex, or None outside any trace."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def traceparent() -> str:
    """The current context as a W3C `traceparent` ("" outside any trace)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT, "")


def _parent(envelope: Envelope) -> context.Context:
    return propagate.extract({TRACEPARENT: envelope.trace}) if envelope.trace else context.Context()


@contextmanager
def outgoing(name: str, headers: dict[str, str]) -> Iterator[None]:
    """A client span around a call to another system; its `traceparent` is added to `headers`."""
    with _tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT):
        propagate.inject(headers)
        yield


@contextmanager
def incoming(name: str, traceparent: str | None) -> Iterator[None]:
    """A server span in the caller's trace (its `traceparent`), or in a new one."""
    parent = propagate.extract({TRACEPARENT: traceparent}) if traceparent else None
    with _tracer.start_as_current_span(name, parent, trace.SpanKind.SERVER):
        yield


@contextmanager
def consuming(group: str, envelopes: Sequence[Envelope]) -> Iterator[None]:
    """The span of a consumer handling a poll's events at once.

    A batch whose events share one trace (one order's, or a quiet system's single event) continues it: the
    span is that trace's. A batch of several traces cannot be the child of each: its span starts a trace
    of its own, linked to each event's (OpenTelemetry's way for batch receivers); then each event's own
    trace shows up in `event_context` (the payments it drives), in the per-event log line
    (`consuming.deliver`), and when the batch fails, in the span of each event handled alone (`handling`).
    """
    traces = {e.trace for e in envelopes}
    orders = {e.order_id for e in envelopes}
    order = ORDER_ID.set(orders.pop() if len(orders) == 1 else None)
    try:
        name = f"{group} consume"
        if len(traces) == 1:
            with _tracer.start_as_current_span(name, _parent(envelopes[0]), trace.SpanKind.CONSUMER):
                yield
            return
        links = [trace.Link(trace.get_current_span(_parent(e)).get_span_context()) for e in envelopes]
        with _tracer.start_as_current_span(name, context.Context(), trace.SpanKind.CONSUMER, links=links):
            yield
    finally:
        ORDER_ID.reset(order)


@contextmanager
def handling(group: str, envelope: Envelope) -> Iterator[None]:
    """The span of one event handled alone, in its own trace, with its order id in the log lines."""
    order = ORDER_ID.set(envelope.order_id)
    try:
        with _tracer.start_as_current_span(
            f"{group} {envelope.type}", _parent(envelope), trace.SpanKind.CONSUMER
        ):
            yield
    finally:
        ORDER_ID.reset(order)


@contextmanager
def within(envelope: Envelope) -> Iterator[None]:
    """The event's own context (its trace, its order id) while the block runs: no span of its own."""
    token, order = context.attach(_parent(envelope)), ORDER_ID.set(envelope.order_id)
    try:
        yield
    finally:
        ORDER_ID.reset(order)
        context.detach(token)


def event_context(envelope: Envelope) -> contextvars.Context:
    """A context for work an event starts in the background (a payment driven): the current one, with the
    event's trace and order id in it, whatever batch it came in."""
    ctx = contextvars.copy_context()
    ctx.run(context.attach, _parent(envelope))
    ctx.run(ORDER_ID.set, envelope.order_id)
    return ctx
