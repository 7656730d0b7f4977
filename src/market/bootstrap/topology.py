"""`market up` / `market status` / `market down`: the distributed topology on this machine, from the platform
declaration (`market.platform`): MariaDB, Kafka and Redis (scripts/infra), the migrations (`market migrate`),
the PG sandbox, every replica of every service, then the nginx gateway, whose upstreams list every public
service's replicas.

Replica I of a service listens on its declared ports + `PORT_STRIDE` × I, logs to STATE/run/NAME-I.log and
has a pid file; `up` returns once every process answers its readiness check, and says which did not. It
starts only what is not running, so it also restarts a replica that died. The replica counts are kept in
STATE/run/replicas and the number of Kafka nodes (`--kafka-brokers`) in STATE/run/kafka-brokers, for
`status`, `down` and a later `up`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from market import platform
from market.settings import Settings

REPO = Path(__file__).resolve().parents[3]
SANDBOX = "pg-sandbox"


@dataclass(frozen=True)
class Replica:
    service: str
    index: int

    @property
    def name(self) -> str:
        return self.service if self.service == SANDBOX else f"{self.service}-{self.index}"

    def port(self, settings: Settings) -> int:
        if self.service == SANDBOX:
            return settings.pg_port
        return platform.service(self.service).http_port + platform.PORT_STRIDE * self.index


def replicas(settings: Settings) -> list[Replica]:
    """Every process `up` runs, in start order: the sandbox, then the services as declared."""
    counts = settings.replica_counts()
    unknown = set(counts) - {s.name for s in platform.SERVICES}
    if unknown:
        raise SystemExit(f"market up: no service {', '.join(sorted(unknown))} (see `market platform`)")
    return [Replica(SANDBOX, 0)] + [
        Replica(s.name, i) for s in platform.SERVICES for i in range(counts.get(s.name, 1))
    ]


def grpc_target(settings: Settings, service: str) -> str:
    """The configured target, else every replica `settings.replicas` counts, on this host."""
    target: str = getattr(settings, f"{service}_grpc_target")
    if target:
        return target
    port = platform.service(service).grpc_port
    assert port is not None, f"{service} serves no gRPC"
    count = settings.replica_counts().get(service, 1)
    return "ipv4:" + ",".join(f"127.0.0.1:{port + platform.PORT_STRIDE * i}" for i in range(count))


def kafka_bootstrap(settings: Settings) -> str:
    """Every broker of the Kafka `market up` runs: node i on the first address's port + 2·(i−1), as
    scripts/infra/kafka.sh places them; one node: the configured bootstrap as it is."""
    if settings.kafka_brokers == 1:
        return settings.kafka_bootstrap
    host, _, port = settings.kafka_bootstrap.split(",")[0].rpartition(":")
    return ",".join(f"{host}:{int(port) + 2 * i}" for i in range(settings.kafka_brokers))


def _env(settings: Settings) -> dict[str, str]:
    settings = remembered(settings)
    state = settings.state_dir.resolve()
    env = {
        **os.environ,
        "MARKET_STATE_DIR": str(state),
        "MARKET_MYSQL_SOCKET": mysql_socket(settings),
        "MARKET_MYSQL_PORT": str(settings.mysql_port),
        "MARKET_MYSQL_PASSWORD": settings.mysql_password,
        "MARKET_GATEWAY_PORT": str(settings.gateway_port),
        "MARKET_KAFKA_PORT": settings.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1],
        "MARKET_KAFKA_BROKERS": str(settings.kafka_brokers),
        "MARKET_KAFKA_BOOTSTRAP": kafka_bootstrap(settings),
        "MARKET_REDIS_PORT": str(settings.redis_port),
        "MARKET_REDIS_URL": redis_url(settings),
        "MARKET_JWT_SECRET": settings.secret(),
        "MARKET_REPLICAS": settings.replicas,
    }
    if settings.kafka_sasl:  # the broker (scripts/infra/kafka.sh) and the services share the credentials
        security = settings.kafka_security()
        env |= {"MARKET_KAFKA_SASL": "1", "MARKET_KAFKA_USERNAME": security["sasl_plain_username"],
                "MARKET_KAFKA_PASSWORD": security["sasl_plain_password"]}  # fmt: skip
    for s in platform.SERVICES:
        if s.public:
            ports = [r.port(settings) for r in replicas(settings) if r.service == s.name]
            env[f"MARKET_{s.name.upper()}_UPSTREAM"] = " ".join(f"server 127.0.0.1:{p};" for p in ports)
    return env


def redis_url(settings: Settings) -> str:
    """The services' shared cache: the Redis `market up` starts, unless MARKET_REDIS_URL says another."""
    if "redis_url" in settings.model_fields_set:
        return settings.redis_url
    return f"redis://127.0.0.1:{settings.redis_port}/0"


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
    scripts = REPO / "scripts" / "infra"
    if not scripts.is_dir():
        raise SystemExit(f"market up: {scripts} not found; run it from a checkout of the project")
    result = subprocess.run([str(scripts / f"{name}.sh"), action], env=_env(settings))
    if result.returncode != 0 and action == "start":
        raise SystemExit(f"market up: {name} did not start (see its messages above)")


def certificates(settings: Settings) -> None:
    """The services' certificates for gRPC over mutual TLS: made by scripts/gen-certs if missing."""
    if (settings.certs_dir() / "ca.crt").exists():
        return
    result = subprocess.run(
        [str(REPO / "scripts" / "gen-certs"), str(settings.certs_dir())], env=_env(settings)
    )
    if result.returncode != 0:
        raise SystemExit("market up: scripts/gen-certs failed (see its message above)")


def migrate(settings: Settings) -> None:
    """`market migrate --distributed`: every database at its head before a replica starts (they migrate at
    start too, under the same lock, and find nothing to do)."""
    from market.bootstrap.migrate import migrate_deployment  # the services' wiring: only `up` needs it

    print(migrate_deployment(settings, on_mariadb=True), flush=True)


def _run_dir(settings: Settings) -> Path:
    return settings.state_dir / "run"


def running(settings: Settings, replica: Replica) -> int | None:
    path = _run_dir(settings) / f"{replica.name}.pid"
    if not path.exists():
        return None
    pid = int(path.read_text())
    try:
        os.kill(pid, 0)
        # A replica this process started (`market chaos`) and that died stays until reaped: reap it. The
        # wait answers only once all its threads are gone, so its ports are free by then.
        gone = _reaped(pid)
    except ProcessLookupError:
        gone = True
    if gone:
        path.unlink(missing_ok=True)
        return None
    return pid


def _reaped(pid: int) -> bool:
    """Whether `pid`, a child of this process that has exited, was reaped now (False for any other)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:  # not this process's child: whoever started it reaps it
        return False


def start(settings: Settings, replica: Replica) -> None:
    """Start the replica unless it runs, and wait until it is ready."""
    if running(settings, replica):
        return
    port, run = replica.port(settings), _run_dir(settings)
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"market up: port {port} for {replica.name} is taken by another process")
    run.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "market.cli", "service", replica.service]
    if replica.service != SANDBOX:
        command += ["--replica", str(replica.index)]
    with (run / f"{replica.name}.log").open("ab") as log:
        proc = subprocess.Popen(
            command,
            env={**_env(settings), "MARKET_REPLICA": replica.name},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (run / f"{replica.name}.pid").write_text(str(proc.pid))
    path = "healthz" if replica.service == SANDBOX else "readyz"
    _wait_ready(f"http://127.0.0.1:{port}/{path}", replica.name, run / f"{replica.name}.log", proc)


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


def stop(settings: Settings, replica: Replica, sig: int = signal.SIGTERM) -> None:
    pid = running(settings, replica)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):  # it may end (and be reaped) at any moment
        os.kill(pid, sig)
        for _ in range(100):
            if running(settings, replica) is None:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    (_run_dir(settings) / f"{replica.name}.pid").unlink(missing_ok=True)


def remembered(settings: Settings) -> Settings:
    """`settings` with the replica counts and the Kafka nodes of the last `up`, unless they say their own."""
    run, update = _run_dir(settings), dict[str, object]()
    if not settings.replicas and (run / "replicas").exists():
        update["replicas"] = (run / "replicas").read_text().strip()
    if "kafka_brokers" not in settings.model_fields_set and (run / "kafka-brokers").exists():
        update["kafka_brokers"] = int((run / "kafka-brokers").read_text())
    return settings.model_copy(update=update) if update else settings


def up(settings: Settings) -> str:
    settings = remembered(settings)
    for stale in set(_started(settings)) - set(replicas(settings)):
        stop(settings, stale)  # fewer replicas than the last `up`
    infra("start", "mariadb", settings)
    infra("start", "kafka", settings)
    infra("start", "redis", settings)
    migrate(settings)
    if settings.grpc_tls:
        certificates(settings)
    _run_dir(settings).mkdir(parents=True, exist_ok=True)
    (_run_dir(settings) / "replicas").write_text(settings.replicas)
    (_run_dir(settings) / "kafka-brokers").write_text(str(settings.kafka_brokers))
    for replica in replicas(settings):
        start(settings, replica)
    infra("reload" if _gateway_up(settings) else "start", "nginx", settings)
    _wait_ready(
        f"http://127.0.0.1:{settings.gateway_port}/healthz",
        "gateway",
        settings.state_dir / "nginx" / "logs" / "error.log",
    )
    return f"market is up: gateway http://127.0.0.1:{settings.gateway_port}/api/v1, logs in {settings.state_dir}/run"


def _gateway_up(settings: Settings) -> bool:
    pid_file = settings.state_dir / "nginx" / "nginx.pid"
    return pid_file.exists() and Path(f"/proc/{pid_file.read_text().strip()}").exists()


def _started(settings: Settings) -> list[Replica]:
    """The replicas whose pid files are there (whatever the replica counts say)."""
    found = []
    for pid_file in _run_dir(settings).glob("*.pid") if _run_dir(settings).is_dir() else []:
        if m := re.fullmatch(r"(.+)-(\d+)", pid_file.stem):
            found.append(Replica(m[1], int(m[2])))
        elif pid_file.stem == SANDBOX:
            found.append(Replica(SANDBOX, 0))
    return found


def down(settings: Settings) -> str:
    infra("stop", "nginx", settings)
    for replica in reversed(sorted(set(_started(settings)) | set(replicas(remembered(settings))), key=str)):
        stop(settings, replica)
    infra("stop", "redis", settings)
    infra("stop", "kafka", settings)
    infra("stop", "mariadb", settings)
    return "market is down"
