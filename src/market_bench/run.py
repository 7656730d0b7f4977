"""One benchmark run: prepare the data, measure the ceiling, drive the orders, audit, report."""

from __future__ import annotations

import argparse
import asyncio
import random
import shlex
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import orjson
import uvloop
from aiohttp import ClientError, ClientSession

from market_bench import chart, dbstats, deploy, report
from market_bench.load import Budget, Recorder, drive, echo_client, order_client, session
from market_bench.plans import Product, Shopper, order_body
from market_bench.prepare import DISCOUNT, PrepareError, coupons_per_member, login, prepare
from market_bench.processes import ProcessWatch

# A generous guess at a timed run's throughput, only to size its coupon pool (no coupon left → PG+POINT).
PER_CLIENT_SECOND, PER_SECOND_MAX = 30, 300


def _platform(args: argparse.Namespace) -> AbstractContextManager[deploy.Platform]:
    if args.mode == "embedded":
        return deploy.embedded(args.admin_email, args.admin_password)
    if args.mode == "distributed":
        return deploy.distributed(args.admin_email, args.admin_password, args.replicas)
    audit = shlex.split(args.audit_cmd) if args.audit_cmd else None
    return deploy.external(args.target, audit, args.pid or [])


async def _sampling(watch: ProcessWatch) -> None:
    while True:
        watch.sample()
        await asyncio.sleep(1.0)


async def _ceiling(args: argparse.Namespace, http: ClientSession, echo: bytes, auth: str) -> Recorder:
    """The same clients against POST /api/v1/echo, with a body the size of an order."""
    seconds = args.ceiling if args.ceiling is not None else min(10.0, args.duration / 3)
    budget, rec = Budget(seconds), Recorder()
    clients = [echo_client(http, rec, budget, echo, auth) for _ in range(args.clients)]
    return await drive(clients, rec, budget, "ceiling")


async def _orders(
    args: argparse.Namespace,
    http: ClientSession,
    products: list[Product],
    shoppers: list[Shopper],
    watch: ProcessWatch,
) -> Recorder:
    """The order phase: `--warmup` seconds whose orders are placed, followed, counted for errors and
    audited like any other, then the measured `--duration` (or the rest of `--orders`). The clients run
    on without a pause between the two, so the measured part starts at a steady state: not with every
    client's first POST at the same instant, into a platform that has just started (docs/performance.md).
    The process figures count from the end of the warm-up too."""
    budget, rec = Budget(args.warmup + args.duration, args.orders), Recorder()
    clients = [order_client(http, rec, budget, _share(shoppers, c, args.clients), products, DISCOUNT,
                            random.Random(args.seed + c)) for c in range(args.clients)]  # fmt: skip

    async def warmed_up() -> None:
        await asyncio.sleep(args.warmup)
        watch.start()
        rec.measured_from = rec.now()

    watch.start()  # from the phase's start; from the warm-up's end again, if there is one
    marker = asyncio.create_task(warmed_up()) if args.warmup > 0 else None
    try:
        await drive(clients, rec, budget, "orders ")
    finally:
        if marker is not None and not marker.done():
            marker.cancel()
            rec.measured_from = rec.ended  # the run ended inside its warm-up: nothing was measured
            watch.start()
    return rec


async def _measure(
    args: argparse.Namespace, platform: deploy.Platform
) -> tuple[Recorder, Recorder, list[Any], dict[str, Any]]:
    """Prepares the data, then the ceiling phase, then the order phase, each with its process figures."""
    members = args.members or min(200, 2 * args.clients)
    expected = args.orders or int(
        (args.warmup + args.duration) * min(args.clients * PER_CLIENT_SECOND, PER_SECOND_MAX)
    )
    async with session(platform.base_url, args.clients) as http:
        print(
            f"market bench: preparing {members} members and products on {platform.base_url}", file=sys.stderr
        )
        products, shoppers = await prepare(http, args.admin_email, args.admin_password, members,
                                           coupons_per_member(expected, members))  # fmt: skip
        echo = orjson.dumps(
            order_body(random.Random(args.seed), products, Shopper("", ""), DISCOUNT, "PG+POINT")[1]
        )
        watch = ProcessWatch(platform.pids)
        sampler = asyncio.create_task(_sampling(watch))
        try:
            watch.start()
            ceiling = await _ceiling(args, http, echo, shoppers[0].auth)
            during_ceiling = {p["pid"]: p["cpu_s"] for p in watch.figures(ceiling.ended)}
            admin = "Bearer " + await login(http, args.admin_email, args.admin_password)
            before = await dbstats.read(http, platform.metrics_urls, admin)
            orders = await _orders(args, http, products, shoppers, watch)
            processes = watch.figures(orders.ended - orders.measured_from)
            after = await dbstats.read(http, platform.metrics_urls, admin)
        finally:
            sampler.cancel()
    for p in processes:
        p["ceiling_cpu_s"] = during_ceiling.get(p["pid"], 0.0)
    # The counters run from the phase's start (warm-up included): per order of the whole phase.
    return orders, ceiling, processes, dbstats.per_order(before, after, len(orders.settles))


def _share(shoppers: list[Shopper], client: int, clients: int) -> list[Shopper]:
    """Client c uses members c, c + clients, ...; with fewer members than clients, members are shared."""
    return shoppers[client::clients] or [shoppers[client % len(shoppers)]]


def _audit(command: list[str] | None) -> dict[str, Any]:
    if command is None:
        return {"ok": None, "violations": [], "summary": "", "command": None}
    print(f"market bench: auditing ({shlex.join(command)})", file=sys.stderr)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {
            "ok": False,
            "violations": [f"the audit did not run: {exc}"],
            "summary": "",
            "command": shlex.join(command),
        }
    lines = (done.stdout + done.stderr).strip().splitlines()
    violations = [line.strip()[2:] for line in lines if line.startswith("  - ")]
    if done.returncode != 0 and not violations:
        violations = lines[-10:] or [f"exit status {done.returncode}"]
    return {
        "ok": done.returncode == 0,
        "violations": violations,
        "summary": lines[0] if lines else "",
        "command": shlex.join(command),
    }


def bench(args: argparse.Namespace) -> int:
    """Runs the benchmark as the options say; exit status 1 when the audit fails or no order settled."""
    with _platform(args) as platform:
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                orders, ceiling, processes, database = runner.run(_measure(args, platform))
        except (PrepareError, ClientError) as exc:
            raise SystemExit(f"market bench: cannot prepare the run on {platform.base_url}: {exc}") from None
        audit = _audit(platform.audit_command)
        platform.keep_data = audit["ok"] is False
    run = {
        "target": platform.base_url,
        "mode": args.mode or "target",
        "clients": args.clients,
        "members": args.members or min(200, 2 * args.clients),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "order_limit": args.orders,
        "platform_measured": bool(platform.pids),
        "replicas": args.replicas or "",
        "database": database,
    }
    doc = report.result(run, orders, ceiling, audit, processes)
    report.write_json(Path(args.output), doc)
    chart.draw(Path(args.chart), doc)
    print(report.summary(doc))
    print(f"market bench: wrote {args.output} and {args.chart}", file=sys.stderr)
    return 1 if audit["ok"] is False or not orders.settles else 0
