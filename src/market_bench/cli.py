"""The `market bench` command: its options here, the run itself (and its heavy imports) in run.py."""

from __future__ import annotations

import argparse
import os
from typing import Any

from market.settings import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
        return value

    return parse


def _not_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """`market bench ARGS`: parse them and run the benchmark."""
    args = parser().parse_args(argv)
    return int(args.run(args, None))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="market bench",
        description="Drives the REST API with closed-loop clients placing a mix of orders and following each "
        "until it settles; measures the server stack's ceiling (POST /api/v1/echo); ends with the "
        "audit. Give --target URL, or --mode to start the platform here.",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--target", metavar="URL", help="base URL of a running deployment (e.g. http://127.0.0.1:8000)"
    )
    where.add_argument(
        "--mode",
        choices=["embedded", "distributed"],
        help="start the platform for the run: `market serve` in a temp dir, or `market up`",
    )
    p.add_argument("--clients", type=_positive(int), default=32, help="concurrent closed-loop clients (32)")
    p.add_argument(
        "--duration",
        type=_positive(float),
        default=30.0,
        help="seconds of measured order load, after the warm-up (30)",
    )
    p.add_argument(
        "--orders",
        type=_positive(int),
        help="place this many orders (warm-up included) instead of running for --duration",
    )
    p.add_argument(
        "--warmup",
        type=_not_negative,
        default=2.0,
        metavar="S",
        help="seconds of orders before the measured part, reported apart from it (2; 0 for none)",
    )
    p.add_argument(
        "--ceiling", type=float, metavar="S", help="seconds of the echo ceiling (min(10, duration/3))"
    )
    p.add_argument("--members", type=_positive(int), help="member pool size (2 × clients, at most 200)")
    p.add_argument("--seed", type=int, default=1, help="seed of the order mix (1)")
    p.add_argument("--output", default="bench-result.json", help="JSON result file (bench-result.json)")
    p.add_argument(
        "--chart", default="bench-chart.png", help="PNG chart of throughput and latency (bench-chart.png)"
    )
    p.add_argument("--admin-email", default=os.environ.get("MARKET_ADMIN_EMAIL") or DEMO_ADMIN_EMAIL)
    p.add_argument("--admin-password", default=os.environ.get("MARKET_ADMIN_PASSWORD") or DEMO_ADMIN_PASSWORD)
    p.add_argument(
        "--audit-cmd",
        metavar="CMD",
        help="with --target: the command that audits that deployment, run as given after the load "
        "(exit 0 = every invariant holds), e.g. 'market audit --data-dir DIR --wait 60'",
    )
    p.add_argument(
        "--pid", type=int, action="append", help="with --target: a process to measure (repeatable)"
    )
    p.add_argument(
        "--replicas",
        metavar="SERVICE=N,…",
        help="with --mode distributed: replicas per service, as `market up --replicas` (e.g. order=2,payment=2)",
    )
    p.set_defaults(run=_run)
    return p


def _run(args: argparse.Namespace, settings: Any) -> int:
    from market_bench.run import bench

    if args.mode and (args.audit_cmd or args.pid):
        raise SystemExit("market bench: --audit-cmd and --pid go with --target; --mode knows its own")
    if args.replicas and args.mode != "distributed":
        raise SystemExit("market bench: --replicas goes with --mode distributed")
    return bench(args)
