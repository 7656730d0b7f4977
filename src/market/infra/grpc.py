"""gRPC plumbing shared by the services: server and channel factories, deadlines and retries, errors ↔ statuses.

A DomainError raised by a served use case travels as a status plus trailing metadata and is raised again,
the same, by the client; an unreachable or too slow service becomes `Unavailable`. See docs/grpc.md.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as grpc_health

from market.infra import tracing
from market.infra.logs import ACCESS, ORDER_ID
from market.kernel.errors import DomainError, NotFound, Unavailable

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
CONNECT_TIMEOUT_MS = 30_000  # one connection attempt may take this long; a call still ends at its deadline
MAX_RECONNECT_BACKOFF_MS = 1_000  # a restarted service is found again within a second, not gRPC's 2 minutes

MESSAGE_LIMITS = (
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
)
SERVER_OPTIONS = (
    *MESSAGE_LIMITS,
    # Clients reconnect every few minutes, and so resolve the service's name again: replicas an autoscaler
    # added get their share of the calls (round_robin over DNS only learns of them on a reconnect).
    ("grpc.max_connection_age_ms", 300_000),
    ("grpc.max_connection_age_grace_ms", 30_000),
)
# gRPC's own service config: calls balanced over every address of the target (each replica of the
# service), and a call refused as UNAVAILABLE (a replica going away) retried on another, by grpc itself.
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [
        {
            "name": [{}],
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.1s",
                "maxBackoff": "0.4s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
}
CHANNEL_OPTIONS = (
    *MESSAGE_LIMITS,
    ("grpc.min_reconnect_backoff_ms", CONNECT_TIMEOUT_MS),  # gRPC's name for the minimum connect timeout
    ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
    ("grpc.enable_retries", 1),
    ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
)

ERROR_CODE = "market-error-code"
ERROR_DETAIL = "market-error-detail-bin"
ERROR_EXTRA = "market-error-extra-bin"


@dataclass(frozen=True)
class Tls:
    """Mutual TLS (MARKET_GRPC_TLS=1): a server asks every client for a certificate signed by `ca` and
    shows its own; a channel checks the server's against `ca` and shows its own (scripts/gen-certs)."""

    ca: bytes
    cert: bytes
    key: bytes

    @classmethod
    def of_service(cls, directory: Path, service: str) -> Tls:
        """`ca.crt`, `<service>.crt` and `<service>.key` in `directory`."""
        ca, cert, key = (directory / name for name in ("ca.crt", f"{service}.crt", f"{service}.key"))
        return cls(ca.read_bytes(), cert.read_bytes(), key.read_bytes())


@dataclass(frozen=True)
class CallPolicy:
    """One deadline for a call and all its retries (the retries are the channel's, `SERVICE_CONFIG`)."""

    deadline: float = 3.0


class GrpcService(Protocol):
    """A servicer that knows its full gRPC name (for the health service) and how to join a server."""

    name: str

    def add_to(self, server: grpc.aio.Server) -> None: ...


@dataclass
class RunningServer:
    server: grpc.aio.Server
    port: int
    health: grpc_health.HealthServicer

    async def stop(self, grace: float = 5.0) -> None:
        """Report NOT_SERVING, then let calls under way finish for up to `grace` seconds."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


async def start_server(
    services: Sequence[GrpcService], *, host: str = "127.0.0.1", port: int = 0, tls: Tls | None = None
) -> RunningServer:
    """Serve `services` and the standard health service on host:port (port 0: any free port); with `tls`,
    only to clients that show a certificate of its CA."""
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=[_DomainErrors()])
    checks = grpc_health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    for service in services:
        service.add_to(server)
        await checks.set(service.name, health_pb2.HealthCheckResponse.SERVING)
    address = f"{host}:{port}"
    if tls is None:
        bound = server.add_insecure_port(address)
    else:
        credentials = grpc.ssl_server_credentials(
            [(tls.key, tls.cert)], root_certificates=tls.ca, require_client_auth=True
        )
        bound = server.add_secure_port(address, credentials)
    await server.start()
    return RunningServer(server, bound, checks)


def open_channel(target: str, tls: Tls | None = None, server: str = "") -> grpc.aio.Channel:
    """A channel to `target`: "host:port", "ipv4:host:port,host:port" (every replica) or "dns:///name:port"
    (a Kubernetes headless Service); it connects on its first call, never at creation. With `tls`: mutual
    TLS, and the server's certificate must name `server` (the service called: a certificate of the same CA
    for another service is refused; a target listing several addresses has no one host name to check)."""
    if tls is None:
        return grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
    credentials = grpc.ssl_channel_credentials(tls.ca, tls.key, tls.cert)
    named = (("grpc.ssl_target_name_override", server),) if server else ()
    return grpc.aio.secure_channel(target, credentials, options=(*CHANNEL_OPTIONS, *named))


async def call(rpc: Callable[..., Awaitable[Any]], request: Any, *, service: str, policy: CallPolicy) -> Any:
    """Call an idempotent RPC under `policy`; raise the server's DomainError, or Unavailable(service).

    The call is a client span, and carries the caller's trace in its metadata (`traceparent`). Not
    OpenTelemetry's gRPC interceptors: grpc.aio runs an intercepted call in a task of its own, and a call
    cancelled there (a placement's reads, cancelled by a replay) logs "exception was never retrieved"."""
    carrier: dict[str, str] = {}
    try:
        with tracing.outgoing(f"grpc {service}", carrier):
            return await rpc(request, timeout=policy.deadline, metadata=tuple(carrier.items()))
    except grpc.aio.AioRpcError as err:
        raise_for_status(err, service)


def status_of(err: DomainError) -> grpc.StatusCode:
    if err.code == "NOT_FOUND":
        return grpc.StatusCode.NOT_FOUND
    if err.code == "VALIDATION_ERROR":
        return grpc.StatusCode.INVALID_ARGUMENT
    return grpc.StatusCode.FAILED_PRECONDITION


def error_metadata(err: DomainError) -> tuple[tuple[str, str | bytes], ...]:
    extra = json.dumps(err.extra, default=str, ensure_ascii=False)
    return (ERROR_CODE, err.code), (ERROR_DETAIL, err.detail.encode()), (ERROR_EXTRA, extra.encode())


def raise_for_status(err: grpc.aio.AioRpcError, service: str) -> NoReturn:
    """Raise what a client raises for a failed call: the server's DomainError, Unavailable, or `err` itself."""
    metadata = dict(err.trailing_metadata() or ())
    code = metadata.get(ERROR_CODE)
    if isinstance(code, str):
        detail = bytes(metadata.get(ERROR_DETAIL, b"")).decode()
        extra = json.loads(bytes(metadata.get(ERROR_EXTRA, b"{}")))
        cls = NotFound if code == "NOT_FOUND" else DomainError
        domain_error = cls.__new__(cls)  # NotFound's own __init__ would rebuild the detail
        DomainError.__init__(domain_error, code, detail, **extra)
        raise domain_error from err
    if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        raise Unavailable(service) from err
    raise err


class _DomainErrors(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc has no type hints
    """Turns what a servicer raises into a status: DomainError as above, Unavailable as UNAVAILABLE; and
    with the access log on, a line per call, with the order id of a request that names one."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        behaviour, method = handler.unary_unary, handler_call_details.method

        async def guarded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            order = ORDER_ID.set(getattr(request, "order_id", None) or None)
            caller = dict(context.invocation_metadata() or ()).get(tracing.TRACEPARENT)
            try:
                with tracing.incoming(method, caller):  # the caller's trace, from the call's metadata
                    return await _answered(behaviour, request, context, method)
            finally:
                ORDER_ID.reset(order)

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def _answered(
    behaviour: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any], method: str
) -> Any:
    """The servicer's answer, its errors turned into statuses; the access log's line, in the call's span."""
    start, outcome = time.perf_counter(), "OK"
    try:
        return await behaviour(request, context)
    except DomainError as err:
        outcome = err.code
        await context.abort(status_of(err), err.detail, trailing_metadata=error_metadata(err))
    except Unavailable as err:
        outcome = "UNAVAILABLE"
        await context.abort(grpc.StatusCode.UNAVAILABLE, str(err))
    except Exception:
        outcome = "ERROR"
        raise
    finally:
        if ACCESS.isEnabledFor(logging.INFO):
            ACCESS.info("grpc %s %s %.1fms", method, outcome, (time.perf_counter() - start) * 1000)
