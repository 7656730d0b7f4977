"""The platform, declared once: its services, what each serves, consumes, produces and calls, its jobs.

Every runner reads this one declaration: the embedded mode (all services in one process), the distributed
mode (`market service NAME`, one process per replica), `market up` (which processes to start, the gateway's
upstreams), the tests, and the Helm chart (`market platform` writes it as JSON into
`deploy/helm/market/platform.json`, which the chart's templates read; CI checks that the copy is current).
A composition root per mode only chooses the adapters (bootstrap/).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from market.kernel.events import ORDER_EVENTS, PAYMENT_EVENTS, PRODUCT_EVENTS

# The replica `i` of a service listens on its base port + PORT_STRIDE × i (market up, on one host).
PORT_STRIDE = 10


@dataclass(frozen=True)
class Job:
    """A periodic job: `run` is the use case's method; `every` its interval in seconds, or the name of the
    setting that holds it. With several replicas, one replica at a time runs it (a lease in the database)."""

    name: str
    run: str
    every: float | str


@dataclass(frozen=True)
class Scaling:
    """How many replicas a cluster runs (the Helm chart's HPA): min, max, and the CPU target in percent."""

    min_replicas: int = 2
    max_replicas: int = 10
    cpu_percent: int = 70


@dataclass(frozen=True)
class Service:
    name: str
    http_port: int
    grpc_port: int | None = None  # serves gRPC to the services that call it
    consumes: tuple[str, ...] = ()  # topics, one consumer group named after the service
    produces: tuple[str, ...] = ()  # topics, through its transactional outbox
    calls: tuple[str, ...] = ()  # services whose gRPC it calls
    jobs: tuple[Job, ...] = ()
    scaling: Scaling = Scaling()
    public: bool = True  # its REST API goes behind the gateway (else: health and metrics only)

    @property
    def database(self) -> str:
        """Its own database (MariaDB) or file (SQLite, `<name>.db`); no other service reads it."""
        return f"market_{self.name}"


SERVICES: tuple[Service, ...] = (
    Service(
        "member",
        http_port=8101,
        grpc_port=9101,
        jobs=(Job("login-attempts", "forget_old_attempts", 300.0),),
    ),
    Service(
        "product",
        http_port=8102,
        grpc_port=9102,
        consumes=(ORDER_EVENTS,),
        produces=(PRODUCT_EVENTS,),
    ),
    Service(
        "order",
        http_port=8103,
        consumes=(PAYMENT_EVENTS, PRODUCT_EVENTS),  # product.events: its catalog cache forgets
        produces=(ORDER_EVENTS,),
        calls=("member", "product", "payment"),
        jobs=(
            Job("idempotency-keys", "forget_expired_keys", 3600.0),
            Job("abandoned-placements", "release_abandoned_placements", 30.0),
            Job("stuck-orders", "nudge_stuck_orders", 30.0),
        ),
        scaling=Scaling(min_replicas=3, max_replicas=20, cpu_percent=70),  # the seed's figures
    ),
    Service(
        "payment",
        http_port=8104,
        grpc_port=9104,
        consumes=(ORDER_EVENTS,),
        produces=(PAYMENT_EVENTS,),
        calls=("member",),
        jobs=(Job("reconciler", "reconcile_once", "reconcile_interval_seconds"),),
    ),
    Service(
        "notification",
        http_port=8105,
        consumes=(ORDER_EVENTS, PAYMENT_EVENTS),
        calls=("member",),
        jobs=(Job("notifications", "send_pending", 1.0),),
        public=False,
    ),
    # The read side (SPEC §10.2): a read model of orders and sales fed by the events, for the admins'
    # order search and sales statistics (docs/scaling.md).
    Service(
        "reporting",
        http_port=8106,
        consumes=(ORDER_EVENTS, PAYMENT_EVENTS),
    ),
)

TOPICS: tuple[str, ...] = (ORDER_EVENTS, PAYMENT_EVENTS, PRODUCT_EVENTS)
# The service whose replicas also serve the browser's pages (/console/, /shop/, /docs, /redoc, the whole
# API's OpenAPI document) and the platform's status (/api/v1/admin/platform); the gateway routes them to it.
CONSOLE = "order"


def service(name: str) -> Service:
    for s in SERVICES:
        if s.name == name:
            return s
    raise KeyError(f"no service {name!r}; the platform has {', '.join(s.name for s in SERVICES)}")


def as_document() -> dict[str, object]:
    """The declaration as plain data (what `market platform` prints and the Helm chart reads)."""
    return {
        "port_stride": PORT_STRIDE,
        "topics": list(TOPICS),
        "console": CONSOLE,
        "services": [{**asdict(s), "database": s.database} for s in SERVICES],
    }
