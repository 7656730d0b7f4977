"""gRPC over mutual TLS (MARKET_GRPC_TLS=1, certificates from scripts/gen-certs): a server answers only
clients that show a certificate of its CA — a local process without one cannot call RefundPoints."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from market.infra.grpc import RunningServer, Tls, open_channel, start_server

REPO = Path(__file__).resolve().parents[2]


def certificates(directory: Path) -> Path:
    subprocess.run([str(REPO / "scripts" / "gen-certs"), str(directory)], check=True, capture_output=True)
    return directory


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
async def server(certs: Path) -> AsyncIterator[RunningServer]:
    running = await start_server([], port=0, tls=Tls.of_service(certs, "member"))
    yield running
    await running.stop(0)


@pytest.fixture
async def replicas(certs: Path) -> AsyncIterator[list[RunningServer]]:
    running = [await start_server([], port=0, tls=Tls.of_service(certs, "member")) for _ in range(2)]
    yield running
    for server in running:
        await server.stop(0)


async def health(channel: grpc.aio.Channel) -> int:
    async with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=3)
        return int(reply.status)


async def test_a_client_with_a_certificate_of_the_ca_is_answered(server: RunningServer, certs: Path) -> None:
    channel = open_channel(f"ipv4:127.0.0.1:{server.port}", Tls.of_service(certs, "payment"), server="member")
    assert await health(channel) == health_pb2.HealthCheckResponse.SERVING


async def test_every_replica_of_the_service_is_reached(replicas: list[RunningServer], certs: Path) -> None:
    target = "ipv4:" + ",".join(f"127.0.0.1:{r.port}" for r in replicas)  # how market up names them
    for _ in range(2):
        channel = open_channel(target, Tls.of_service(certs, "order"), server="member")
        assert await health(channel) == health_pb2.HealthCheckResponse.SERVING


async def test_a_server_with_another_services_certificate_is_refused(
    server: RunningServer, certs: Path
) -> None:
    channel = open_channel(f"127.0.0.1:{server.port}", Tls.of_service(certs, "order"), server="product")
    with pytest.raises(grpc.aio.AioRpcError):
        await health(channel)


async def test_a_client_without_a_certificate_is_refused(server: RunningServer, certs: Path) -> None:
    anonymous = grpc.ssl_channel_credentials((certs / "ca.crt").read_bytes())  # trusts the server only
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await health(grpc.aio.secure_channel(f"127.0.0.1:{server.port}", anonymous))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.aio.AioRpcError):
        await health(grpc.aio.insecure_channel(f"127.0.0.1:{server.port}"))


async def test_a_certificate_of_another_ca_is_refused(server: RunningServer, tmp_path: Path) -> None:
    stranger = Tls.of_service(certificates(tmp_path / "other"), "payment")
    with pytest.raises(grpc.aio.AioRpcError):
        await health(open_channel(f"127.0.0.1:{server.port}", stranger))
