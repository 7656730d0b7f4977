"""gRPC plumbing shared by the services: server and channel factories, deadlines and retries, errors ↔ statuses.

A DomainError raised by a served use case travels as a status plus trailing metadata and is raised again,
the same, by the client; an unreachable or too slow service becomes `Unavailable`. See docs/grpc.md.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as grpc_health

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
    services: Sequence[GrpcService], *, host: str = "127.0.0.1", port: int = 0
) -> RunningServer:
    """Serve `services` and the standard health service on host:port (port 0: any free port)."""
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=[_DomainErrors()])
    checks = grpc_health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    for service in services:
        service.add_to(server)
        await checks.set(service.name, health_pb2.HealthCheckResponse.SERVING)
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    return RunningServer(server, bound, checks)


def open_channel(target: str) -> grpc.aio.Channel:
    """A channel to `target`: "host:port", "ipv4:host:port,host:port" (every replica) or "dns:///name:port"
    (a Kubernetes headless Service); it connects on its first call, never at creation."""
    return grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)


async def call(rpc: Callable[..., Awaitable[Any]], request: Any, *, service: str, policy: CallPolicy) -> Any:
    """Call an idempotent RPC under `policy`; raise the server's DomainError, or Unavailable(service)."""
    try:
        return await rpc(request, timeout=policy.deadline)
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
    """Turns what a servicer raises into a status: DomainError as above, Unavailable as UNAVAILABLE."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        behaviour = handler.unary_unary

        async def guarded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                return await behaviour(request, context)
            except DomainError as err:
                await context.abort(status_of(err), err.detail, trailing_metadata=error_metadata(err))
            except Unavailable as err:
                await context.abort(grpc.StatusCode.UNAVAILABLE, str(err))

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
