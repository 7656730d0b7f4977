"""Where the load goes and what to measure there: an embedded server the bench starts itself, the
distributed topology of `market up`, or any target URL with the audit command and pids it is given."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from market.settings import Settings
from market_bench.processes import distributed_pids

MARKET = [sys.executable, "-m", "market.cli"]


@dataclass
class Platform:
    base_url: str
    pids: dict[str, int] = field(default_factory=dict)
    audit_command: list[str] | None = None
    data_dir: Path | None = None
    keep_data: bool = False
    metrics_urls: list[str] = field(default_factory=list)  # every platform process answering /metrics


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise SystemExit(f"market bench: the server exited at start; last lines of {log}:\n{tail}")
        if answers(url):
            return
        time.sleep(0.1)
    raise SystemExit(f"market bench: the server is not ready after {seconds:.0f} s; see {log}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# What a deployment the bench starts needs: POST /api/v1/echo (the ceiling), and no cap on the sign-ups of
# its shoppers from one address (SPEC §10.5's throttle). A `--target` deployment's operator sets them.
BENCH_ENV = {"MARKET_BENCH_ECHO": "true", "MARKET_SIGNUP_ADDRESS_LIMIT": "0"}


@contextmanager
def embedded(admin_email: str, admin_password: str) -> Iterator[Platform]:
    """`market serve` on a free port with a fresh data dir, removed afterwards unless `keep_data` is set."""
    data_dir = Path(tempfile.mkdtemp(prefix="market-bench-"))
    port = _free_port()
    env = {
        **os.environ,
        "MARKET_ADMIN_EMAIL": admin_email,
        "MARKET_ADMIN_PASSWORD": admin_password,
        **BENCH_ENV,
    }
    log_path = data_dir / "server.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [*MARKET, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    platform = Platform(
        f"http://127.0.0.1:{port}",
        {"market serve": proc.pid},
        [*MARKET, "audit", "--data-dir", str(data_dir), "--wait", "60"],
        data_dir,
        metrics_urls=[f"http://127.0.0.1:{port}"],
    )
    try:
        _wait_ready(f"{platform.base_url}/readyz", proc, log_path)
        yield platform
    finally:
        _stop(proc)
        if platform.keep_data:
            print(f"market bench: data and server log kept in {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def distributed(admin_email: str, admin_password: str, replicas: str | None = None) -> Iterator[Platform]:
    """The topology of `market up` (started, and stopped afterwards, only if it was not already up);
    `replicas` ("order=3,payment=2") as `market up --replicas` takes them."""
    from market.bootstrap.topology import SANDBOX, down, remembered, up
    from market.bootstrap.topology import replicas as processes

    settings = Settings()
    if replicas:
        settings = settings.model_copy(update={"replicas": replicas})
    url = f"http://127.0.0.1:{settings.gateway_port}"
    started = not answers(f"{url}/healthz")
    if started:
        # The member service creates the admin from these at start-up; `up` passes the environment on.
        os.environ.update(MARKET_ADMIN_EMAIL=admin_email, MARKET_ADMIN_PASSWORD=admin_password, **BENCH_ENV)
        print(up(settings), file=sys.stderr)
    try:
        served = [r for r in processes(remembered(settings)) if r.service != SANDBOX]
        yield Platform(
            url,
            distributed_pids(settings.state_dir),
            [*MARKET, "audit", "--distributed", "--wait", "60"],
            metrics_urls=[f"http://127.0.0.1:{r.port(settings)}" for r in served],
        )
    finally:
        if started:
            print(down(settings), file=sys.stderr)


@contextmanager
def external(url: str, audit_command: list[str] | None, pids: list[int]) -> Iterator[Platform]:
    """A deployment the bench does not own: measures only the pids given, audits only with a command given."""
    yield Platform(url.rstrip("/"), {f"pid {pid}": pid for pid in pids}, audit_command)
