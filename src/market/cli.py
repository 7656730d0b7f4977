"""`market`: run the platform, seed it, audit it. `market --help` lists the commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from market.platform import SERVICES
from market.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from market.bootstrap.serve import embedded

    settings = settings.model_copy(
        update={
            k: v
            for k, v in {"host": args.host, "port": args.port, "data_dir": args.data_dir}.items()
            if v is not None
        }
    )
    _logging(settings, "embedded", settings.replica or "0", distributed=False)
    embedded(settings)
    return 0


def _service(args: argparse.Namespace, settings: Settings) -> int:
    from market.bootstrap.serve import service

    _logging(settings, args.name, settings.replica or f"{args.name}-{args.replica}", distributed=True)
    service(settings, args.name, args.replica)
    return 0


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from market.bootstrap.topology import up

    if args.replicas is not None:
        settings = settings.model_copy(update={"replicas": args.replicas})
    print(up(settings))
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from market.bootstrap.status import status

    table, ready = status(settings)
    print(table)
    return 0 if ready else 1


def _down(args: argparse.Namespace, settings: Settings) -> int:
    from market.bootstrap.topology import down

    print(down(settings))
    return 0


def _logging(settings: Settings, service: str, replica: str, *, distributed: bool) -> None:
    """JSON lines and the access log by default in the distributed mode, text without it embedded."""
    from market.infra import logs

    fmt = settings.log_format or ("json" if distributed else "text")
    if fmt not in ("json", "text"):
        raise SystemExit(f"MARKET_LOG_FORMAT={fmt!r}: json or text")
    access = distributed if settings.access_log is None else settings.access_log
    logs.configure(
        service=service, replica=replica, level=settings.log_level, json=fmt == "json", access=access
    )


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    # The benchmark is its own package, which the runtime never imports; this only hands it the command.
    from market_bench.cli import main as bench_main

    return bench_main(args.args)


def _chaos(argv: list[str]) -> int:
    # The fault campaign lives beside the benchmark (market_bench.chaos); the runtime only hands it over.
    from market_bench.chaos.cli import main as chaos_main

    return chaos_main(argv)


def _platform(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from market.platform import as_document

    print(json.dumps(as_document(), indent=2))
    return 0


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from market.bootstrap import demo, embedded

    if args.data_dir is not None:
        settings = settings.model_copy(update={"data_dir": args.data_dir})

    async def seed() -> str:
        platform = embedded.build(settings)
        await platform.start()
        try:
            return await demo.prepare(platform.platform.services, settings, platform.adapters.clock)
        finally:
            await platform.stop()

    print(asyncio.run(seed()))
    return 0


def _dlq(args: argparse.Namespace, settings: Settings) -> int:
    from market.bootstrap import dlq
    from market.bootstrap.audit import distributed_databases, embedded_databases

    if args.data_dir is not None:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    replay = args.action == "replay"

    async def run() -> str:
        dbs = distributed_databases(settings) if args.distributed else embedded_databases(settings, False)
        try:
            found = await (
                dlq.distributed(settings, dbs, replay) if args.distributed else dlq.embedded(dbs, replay)
            )
            return dlq.render(found, replay)
        finally:
            for db in dbs.values():
                await db.close()

    print(asyncio.run(run()))
    return 0


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from market.bootstrap.audit import run_audit

    if args.data_dir is not None:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    report = asyncio.run(run_audit(settings, args.wait, distributed=args.distributed))
    print(report.render())
    return 0 if report.ok else 1


def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from market.bootstrap.rebuild import rebuild_read_model

    if args.data_dir is not None:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    if args.distributed:
        from market.bootstrap.topology import mysql_socket

        settings = settings.model_copy(update={"mysql_socket": mysql_socket(settings)})
    read = asyncio.run(rebuild_read_model(settings, distributed=args.distributed))
    print(f"read model rebuilt from {read} events")
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from market.bootstrap import migrate

    if args.new is not None:
        if not args.message:
            raise SystemExit("market migrate --new: say what the revision does with -m MESSAGE")
        print(f"new revision: {migrate.HISTORIES[args.new].new_revision(args.message)}")
        return 0
    if args.data_dir is not None:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    on_mariadb = migrate.on_mariadb(settings, args.distributed, args.data_dir is not None)
    services = [args.service] if args.service else [s.name for s in SERVICES]
    print(migrate.migrate_deployment(settings, on_mariadb, services))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="market", description="Order & payment platform of a marketplace.")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the whole platform in one process (embedded mode)")
    serve.add_argument("--host", help="bind address (default 127.0.0.1, MARKET_HOST)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8000, MARKET_PORT)")
    serve.add_argument(
        "--data-dir", type=Path, help="where the SQLite files live (default ./data, MARKET_DATA_DIR)"
    )
    serve.set_defaults(run=_serve)

    seed = sub.add_parser(
        "seed", help="create the admin and the demo data in a data dir (if missing) and print logins"
    )
    seed.add_argument("--data-dir", type=Path)
    seed.set_defaults(run=_seed)

    service = sub.add_parser("service", help="run one process of the distributed mode (used by `market up`)")
    service.add_argument("name", choices=[*(s.name for s in SERVICES), "pg-sandbox"])
    service.add_argument(
        "--replica", type=int, default=0, help="which replica (0, 1, …): its ports are the declared + 10 × it"
    )
    service.set_defaults(run=_service)

    up = sub.add_parser(
        "up", help="start the distributed topology here: MariaDB, Kafka, services, PG sandbox, nginx"
    )
    up.add_argument(
        "--replicas",
        metavar="SERVICE=N,…",
        help="replicas per service, e.g. order=3,payment=2 (default 1 each; kept for later commands)",
    )
    up.set_defaults(run=_up)
    status = sub.add_parser("status", help="each replica of `market up`: ready, consumer lag, outbox backlog")
    status.set_defaults(run=_status)
    down = sub.add_parser("down", help="stop everything `market up` started")
    down.set_defaults(run=_down)

    migrate = sub.add_parser(
        "migrate",
        help="upgrade the services' databases to their migrations' head, one migrator at a time",
        description="Without --data-dir or --distributed: MariaDB when MARKET_MYSQL_HOST is set, "
        "else the SQLite files of MARKET_DATA_DIR (default ./data).",
    )
    where = migrate.add_mutually_exclusive_group()
    where.add_argument("--data-dir", type=Path, help="an embedded deployment's SQLite files")
    where.add_argument(
        "--distributed", action="store_true", help="the MariaDB databases (of `market up`, or MARKET_MYSQL_*)"
    )
    migrate.add_argument("--service", choices=[s.name for s in SERVICES], help="only this service's")
    migrate.add_argument(
        "--new",
        metavar="HISTORY",
        choices=[*(s.name for s in SERVICES), "pg_sandbox"],
        help="instead, add a revision to this history (a service's, or pg_sandbox) in the source tree",
    )
    migrate.add_argument("-m", "--message", help="with --new: what the revision does")
    migrate.set_defaults(run=_migrate)

    platform = sub.add_parser(
        "platform", help="print the platform's declaration (services, topics, jobs, scaling) as JSON"
    )
    platform.set_defaults(run=_platform)

    dead = sub.add_parser("dlq", help="the events consumers gave up on: list them, or replay them")
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("--data-dir", type=Path, help="embedded deployment's data dir")
    dead.add_argument("--distributed", action="store_true", help="the topology of `market up` (Kafka)")
    dead.set_defaults(run=_dlq)

    audit = sub.add_parser("audit", help="check the invariants of SPEC §8 against a deployment's data")
    audit.add_argument("--data-dir", type=Path, help="embedded deployment's data dir")
    audit.add_argument(
        "--distributed",
        action="store_true",
        help="audit the topology of `market up` (MariaDB databases, the sandbox's store)",
    )
    audit.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="first wait up to this many seconds for in-flight orders to settle",
    )
    audit.set_defaults(run=_audit)
    rebuild = sub.add_parser(
        "rebuild-read-model",
        help="forget the reporting read model and read it again from the order service's data",
    )
    rebuild.add_argument("--data-dir", type=Path, help="embedded deployment's data dir")
    rebuild.add_argument("--distributed", action="store_true", help="the MariaDB databases of `market up`")
    rebuild.set_defaults(run=_rebuild)
    bench = sub.add_parser(
        "bench", add_help=False, help="the load benchmark (market_bench; `market bench --help`)"
    )
    bench.add_argument("args", nargs=argparse.REMAINDER)
    bench.set_defaults(run=_bench)
    chaos = sub.add_parser(
        "chaos", add_help=False, help="a seeded fault campaign against `market up` (`market chaos --help`)"
    )
    chaos.add_argument("args", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # its options are the benchmark's own (market_bench.cli)
        return _bench(argparse.Namespace(args=argv[1:]), Settings())
    if argv[:1] == ["chaos"]:
        return _chaos(argv[1:])
    args = parser().parse_args(argv)
    return int(args.run(args, Settings()))


if __name__ == "__main__":
    sys.exit(main())
