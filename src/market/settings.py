"""Settings from the environment (prefix MARKET_) and an optional .env file. See docs/configuration.md."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_ADMIN_EMAIL = "admin@market.test"
DEMO_ADMIN_PASSWORD = "admin-demo-password"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MARKET_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    log_level: str = "info"
    # "json" (one object per line) or "text"; unset: json for `market service` (distributed), text for
    # `market serve`. The access log: a line per request, gRPC call and event handled; unset: on for
    # `market service`, off for `market serve`.
    log_format: str = ""
    access_log: bool | None = None

    # The HTTP edge (docs/configuration.md): a body cap (413 above it), the proxies whose X-Forwarded-For
    # names the client (the gateway; uvicorn's forwarded_allow_ips), /metrics' scrape token (an admin's
    # token works too), and POST /api/v1/echo for the benchmark.
    max_body_bytes: int = 1024 * 1024
    trusted_proxies: str = "127.0.0.1"
    metrics_token: str = ""
    bench_echo: bool = False

    jwt_secret: str = Field(
        default="", description="HS256 key; generated and kept in the data dir when unset"
    )
    jwt_issuer: str = "market"
    jwt_audience: str = "market-api"
    token_ttl_seconds: int = 3600

    admin_email: str | None = None
    admin_password: str | None = None
    # The demo admin and members (published passwords): only when asked for, and only on a loopback
    # address; unset: `market serve` on loopback without a configured admin seeds them, with a warning.
    demo_data: bool | None = None

    # Login throttling (SPEC §10.5), counted in the member database, so across replicas: after
    # `login_email_failures` failed logins for one email within the window, that email's logins answer
    # 429 until the window ends; a client address gets `login_address_failures` of its own, and at most
    # `signup_address_limit` sign-ups per window.
    login_window_seconds: int = 900
    login_email_failures: int = 5
    login_address_failures: int = 50
    signup_address_limit: int = 100

    reconcile_interval_seconds: float = 2.0
    payment_lease_seconds: float = 15.0
    relay_batch: int = 200
    # Placements, Idempotency-Key claims and reservations that arrive together share one transaction
    # (infra/batching.py). Off by default: measured slower embedded (docs/architecture.md), where SQLite's
    # group commit already shares COMMITs; the distributed mode is still to be measured.
    batch_writes: bool = False
    # An order PENDING or CANCELLING this long is nudged (its saga's event announced again) and escalated.
    order_stuck_seconds: float = 300.0
    # A consumer retries an event this many times (backoff up to 5 s apart), then puts it in the dead letters.
    consumer_max_attempts: int = 8
    catalog_cache_seconds: float = 30.0
    catalog_cache_size: int = 10_000
    # The distributed mode's shared cache of product reads (docs/scaling.md): "redis://127.0.0.1:6379/0";
    # empty: each process keeps its own (`market up` sets it to the Redis it starts).
    redis_url: str = ""
    redis_timeout_seconds: float = 0.25

    # The distributed mode (docs/configuration.md): where each process listens and what it talks to.
    state_dir: Path = Path(".local")
    mysql_host: str = "127.0.0.1"
    mysql_port: int = 3306
    mysql_user: str = "market"
    mysql_password: str = "market"
    mysql_pool_size: int = 20
    # A unix socket path: the services reach MariaDB through it instead of host:port. `market up` sets it
    # to the MariaDB it starts, unless MARKET_MYSQL_SOCKET is set (empty: TCP) or the host is not local.
    mysql_socket: str = ""
    kafka_bootstrap: str = "127.0.0.1:9092"
    # How many Kafka nodes `market up` runs (scripts/infra/kafka.sh): 3 is a cluster with replication factor
    # 3 and min.insync.replicas 2; the services then get every broker in their bootstrap.
    kafka_brokers: int = Field(default=1, ge=1, le=9)
    redis_port: int = 6379
    # Kafka over SASL/SCRAM-SHA-512 (docs/runbook.md): the services authenticate as kafka_username with
    # kafka_password (generated and kept in <state_dir>/kafka.password when unset; `market up` configures
    # its broker with them).
    kafka_sasl: bool = False
    kafka_username: str = "market"
    kafka_password: str = ""
    # A replica's name (logs, job leases); `market up` sets it, a Kubernetes pod passes its own name.
    replica: str = ""
    # How many replicas of each service `market up` runs ("order=3,payment=2"; 1 each by default): the
    # gRPC clients balance over them and the gateway lists them.
    replicas: str = ""
    # Where a service's gRPC clients find another service: a gRPC target ("dns:///market-member-grpc:9101"
    # in a cluster); empty: every replica of `replicas` on 127.0.0.1 (market up).
    member_grpc_target: str = ""
    product_grpc_target: str = ""
    payment_grpc_target: str = ""
    grpc_deadline_seconds: float = 3.0
    # The embedded mode runs the PG/BNPL sandbox in its own process; false: it reaches pg_base_url (and
    # bnpl_base_url) over HTTP as the distributed mode does (a sandbox of its own, the real PG's test
    # environment, or — in the browser tests — a PG that is down).
    pg_in_process: bool = True
    # gRPC over mutual TLS (SPEC §10.5): each service serves and calls with its own certificate of one CA,
    # `ca.crt`, `<service>.crt` and `<service>.key` in `grpc_certs_dir` (default: <state_dir>/certs, which
    # scripts/gen-certs fills, and `market up` runs it when they are missing).
    grpc_tls: bool = False
    grpc_certs_dir: Path | None = None
    pg_port: int = 8190
    pg_base_url: str = "http://127.0.0.1:8190"
    pg_secret_key: str = "test_sk_market_sandbox"
    pg_timeout_seconds: float = 3.0
    bnpl_base_url: str = Field(
        default="", description="the BNPL provider; empty: the PG's URL (the sandbox serves both)"
    )
    gateway_port: int = 8080

    # The notification worker (docs/notifications.md): empty smtp_url writes each message as an .eml file
    # under <data_dir>/mail/ instead of sending it.
    smtp_url: str = ""
    mail_from: str = "Cashnote Market <no-reply@market.test>"

    def kafka_security(self) -> dict[str, str]:
        """aiokafka's connection settings: SASL/SCRAM with the credentials, or nothing (plaintext)."""
        if not self.kafka_sasl:
            return {}
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": self.kafka_username,
            "sasl_plain_password": self.kafka_password or _kept(self.state_dir / "kafka.password"),
        }

    def certs_dir(self) -> Path:
        return self.grpc_certs_dir or self.state_dir / "certs"

    def replica_counts(self) -> dict[str, int]:
        """`replicas` as {service: count}; ValueError if it is not "name=N,..." with N ≥ 1."""
        counts: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in self.replicas.split(","))):
            name, _, count = part.partition("=")
            if not count.strip().isdigit() or int(count) < 1:
                raise ValueError(f"replicas: {part!r} is not SERVICE=N with N ≥ 1")
            counts[name.strip()] = int(count)
        return counts

    def secret(self) -> str:
        """The JWT key: from the environment, else one generated once and kept beside the data."""
        return self.jwt_secret or _kept(self.data_dir / "jwt.key")


def _kept(path: Path) -> str:
    """A secret generated once and kept in `path` (readable by its owner only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
