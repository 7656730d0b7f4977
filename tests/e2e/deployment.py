"""Where the end-to-end suite runs: a base URL, the admin's login, and how to audit the deployment.

Without MARKET_E2E_BASE_URL the suite starts `market serve` (embedded) itself in a temp data dir.
With it (distributed mode), MARKET_E2E_ADMIN_EMAIL / _PASSWORD name the admin, MARKET_E2E_AUDIT the
shell command that audits that deployment and MARKET_E2E_REBUILD the one that rebuilds its read model.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ADMIN_EMAIL = "e2e-admin@market.test"
ADMIN_PASSWORD = "e2e-admin-password"


CLI = [sys.executable, "-m", "market.cli"]  # `market`, whatever the PATH


@dataclass
class Deployment:
    base_url: str
    admin_email: str
    admin_password: str
    audit_command: list[str]
    rebuild_command: list[str] = field(default_factory=list)
    can_restart: bool = False

    def audit(self, wait: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.audit_command, "--wait", str(wait)], capture_output=True, text=True, timeout=wait + 60
        )

    def rebuild_read_model(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.rebuild_command, capture_output=True, text=True, timeout=120)

    def kill(self) -> None:
        raise NotImplementedError("this deployment cannot be restarted from the suite")

    def start(self) -> None:
        raise NotImplementedError("this deployment cannot be restarted from the suite")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class EmbeddedServer(Deployment):
    data_dir: Path = Path()
    port: int = 0
    log_path: Path = Path()
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    start_timeout: float = 30.0  # seconds until /readyz answers 200 (a busy shared machine needs more)

    @classmethod
    def create(cls, data_dir: Path) -> EmbeddedServer:
        port = _free_port()
        market = CLI
        return cls(
            base_url=f"http://127.0.0.1:{port}",
            admin_email=ADMIN_EMAIL,
            admin_password=ADMIN_PASSWORD,
            audit_command=[*market, "audit", "--data-dir", str(data_dir)],
            rebuild_command=[*market, "rebuild-read-model", "--data-dir", str(data_dir)],
            can_restart=True,
            data_dir=data_dir,
            port=port,
            log_path=data_dir / "server.log",
        )

    def start(self) -> None:
        env = {
            **os.environ,
            "MARKET_ADMIN_EMAIL": ADMIN_EMAIL,
            "MARKET_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "MARKET_RECONCILE_INTERVAL_SECONDS": "0.5",
            "MARKET_PAYMENT_LEASE_SECONDS": "2",
            "MARKET_SIGNUP_ADDRESS_LIMIT": "0",  # the suite signs up hundreds of members from 127.0.0.1
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "market.cli",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"market serve exited early; see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"market serve not ready after {self.start_timeout:.0f} s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush — what a crash looks like."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def from_environment(tmp: Path) -> Deployment:
    base_url = os.environ.get("MARKET_E2E_BASE_URL")
    if not base_url:
        return EmbeddedServer.create(tmp)
    return Deployment(
        base_url=base_url.rstrip("/"),
        admin_email=os.environ.get("MARKET_E2E_ADMIN_EMAIL", ADMIN_EMAIL),
        admin_password=os.environ.get("MARKET_E2E_ADMIN_PASSWORD", ADMIN_PASSWORD),
        audit_command=shlex.split(os.environ.get("MARKET_E2E_AUDIT", "")) or [*CLI, "audit"],
        rebuild_command=shlex.split(os.environ.get("MARKET_E2E_REBUILD", ""))
        or [*CLI, "rebuild-read-model", "--distributed"],
    )
