"""`market up` / `market down`: the whole distributed topology on this machine, started in order.

MariaDB and Kafka (project scripts under scripts/infra), the PG sandbox, the four services, then the
nginx gateway. Each process logs to STATE/run/NAME.log and has a pid file; `up` returns once every
piece answers its readiness check, and says which one did not.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from market.settings import Settings

REPO = Path(__file__).resolve().parents[3]
ORDER = ("pg-sandbox", "member", "product", "payment", "order")


def _scripts() -> Path:
    scripts = REPO / "scripts" / "infra"
    if not scripts.is_dir():
        raise SystemExit(f"market up: {scripts} not found; run it from a checkout of the project")
    return scripts


def _env(settings: Settings) -> dict[str, str]:
    state = settings.state_dir.resolve()
    return {
        **os.environ,
        "MARKET_STATE_DIR": str(state),
        "MARKET_MYSQL_SOCKET": mysql_socket(settings),
        "MARKET_MYSQL_PORT": str(settings.mysql_port),
        "MARKET_MYSQL_PASSWORD": settings.mysql_password,
        "MARKET_GATEWAY_PORT": str(settings.gateway_port),
        "MARKET_KAFKA_PORT": settings.kafka_bootstrap.rsplit(":", 1)[1],
        "MARKET_JWT_SECRET": settings.secret(),
    }


def mysql_socket(settings: Settings) -> str:
    """The services' way to MariaDB: the socket of the one `market up` starts, unless told otherwise.

    A unix socket costs MariaDB and its clients about a fifth less CPU per statement than loopback TCP
    (docs/performance.md). MARKET_MYSQL_SOCKET, when set (even empty: TCP), and a MariaDB that is not
    on this host keep their say.
    """
    if "mysql_socket" in settings.model_fields_set or settings.mysql_host not in ("127.0.0.1", "localhost"):
        return settings.mysql_socket
    return str(settings.state_dir.resolve() / "mariadb" / "mysqld.sock")


def infra(action: str, name: str, settings: Settings) -> None:
    result = subprocess.run([str(_scripts() / f"{name}.sh"), action], env=_env(settings))
    if result.returncode != 0 and action == "start":
        raise SystemExit(f"market up: {name} did not start (see its messages above)")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _http_port(settings: Settings, name: str) -> int:
    return settings.pg_port if name == "pg-sandbox" else int(getattr(settings, f"{name}_http_port"))


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.state_dir / "run" / f"{name}.pid"


def _running(settings: Settings, name: str) -> int | None:
    path = _pid_file(settings, name)
    if not path.exists():
        return None
    pid = int(path.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink()
        return None
    return pid


def start_service(settings: Settings, name: str) -> None:
    if _running(settings, name):
        return
    port = _http_port(settings, name)
    if not _port_free(port):
        raise SystemExit(f"market up: port {port} for {name} is taken by another process")
    run = settings.state_dir / "run"
    run.mkdir(parents=True, exist_ok=True)
    with (run / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "market.cli", "service", name],
            env=_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _pid_file(settings, name).write_text(str(proc.pid))
    _wait_ready(
        f"http://127.0.0.1:{port}/{'healthz' if name == 'pg-sandbox' else 'readyz'}",
        name,
        run / f"{name}.log",
        proc,
    )


def _wait_ready(
    url: str, name: str, log: Path, proc: subprocess.Popen[bytes] | None = None, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(
                f"market up: {name} exited at start; last lines of {log}:\n"
                + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            )
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"market up: {name} not ready after {seconds:.0f} s ({url}); see {log}")


def stop_service(settings: Settings, name: str, sig: int = signal.SIGTERM) -> None:
    pid = _running(settings, name)
    if pid is None:
        return
    os.kill(pid, sig)
    for _ in range(100):
        if _running(settings, name) is None:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    _pid_file(settings, name).unlink(missing_ok=True)


def up(settings: Settings) -> str:
    infra("start", "mariadb", settings)
    infra("start", "kafka", settings)
    for name in ORDER:
        start_service(settings, name)
    infra("start", "nginx", settings)
    _wait_ready(
        f"http://127.0.0.1:{settings.gateway_port}/healthz",
        "gateway",
        settings.state_dir / "nginx" / "logs" / "error.log",
    )
    return f"market is up: gateway http://127.0.0.1:{settings.gateway_port}/api/v1, logs in {settings.state_dir}/run"


def down(settings: Settings) -> str:
    infra("stop", "nginx", settings)
    for name in reversed(ORDER):
        stop_service(settings, name)
    infra("stop", "kafka", settings)
    infra("stop", "mariadb", settings)
    return "market is down"
