"""`market chaos`: its options, the preparation, and the report (what was injected, when, and the outcome)."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from market.bootstrap.topology import SANDBOX, remembered, replicas, up
from market.settings import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, Settings
from market_bench.chaos.campaign import campaign_run, outcome
from market_bench.chaos.schedule import Campaign, span_for
from market_bench.prepare import coupons_per_member, login, prepare


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="market chaos", description=__doc__)
    p.add_argument(
        "--seed", type=int, required=True, help="the campaign's seed: the same seed, the same faults"
    )
    p.add_argument("--orders", type=int, default=2000)
    p.add_argument(
        "--rate", type=float, default=8.0,
        help="orders placed a second (the faults spread over the same time); keep it under what the "
        "platform settles here while struck (docs/runbook.md)",
    )  # fmt: skip
    p.add_argument("--kills", type=int, default=20, help="replicas killed with SIGKILL (then started again)")
    p.add_argument("--kafka-restarts", type=int, default=2)
    p.add_argument("--mariadb-restarts", type=int, default=1)
    p.add_argument("--pg-server-errors", type=float, default=0.05, help="share of confirms answered 5xx once")
    p.add_argument("--pg-answers-lost", type=float, default=0.03, help="share charged, the answer lost")
    p.add_argument("--duplicates", type=float, default=0.10, help="share of events delivered twice")
    p.add_argument(
        "--replicas",
        help="as `market up --replicas` (default: those of the running topology, else order=2,payment=2)",
    )
    p.add_argument("--output", type=Path, help="the JSON report (default chaos-SEED.json)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the duplicator rides out broker restarts
    settings = remembered(Settings())
    settings = settings.model_copy(
        update={"replicas": args.replicas or settings.replicas or "order=2,payment=2"}
    )
    campaign = Campaign(
        args.seed, args.orders, span_for(args.orders, args.kafka_restarts + args.mariadb_restarts, args.rate), args.kills,
        args.kafka_restarts, args.mariadb_restarts, args.pg_server_errors, args.pg_answers_lost, args.duplicates,
    )  # fmt: skip
    print(up(settings), file=sys.stderr)
    targets = [r.name for r in replicas(remembered(settings)) if r.service != SANDBOX]
    faults = campaign.schedule(targets)
    print(f"market chaos: seed {args.seed}, {args.orders} orders over {campaign.span:.0f} s, "
          f"{len(faults)} faults", file=sys.stderr)  # fmt: skip
    run = uvloop.run(_run(settings, campaign, faults))
    audit = _audit()
    report = {"campaign": campaign.describe(), "schedule": [vars(f) for f in faults], "injected": run.injected,
              "outcome": outcome(run), "audit": audit}  # fmt: skip
    path = args.output or Path(f"chaos-{args.seed}.json")
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(_summary(report))
    print(f"market chaos: wrote {path}", file=sys.stderr)
    passed = audit["ok"] and report["outcome"]["all_terminal"] and not report["outcome"]["unexpected"]
    return 0 if passed and report["outcome"]["settled_after_last_fault_s"] <= 60 else 1


async def _run(settings: Settings, campaign: Campaign, faults: list[Any]) -> Any:
    email, password = settings.admin_email or DEMO_ADMIN_EMAIL, settings.admin_password or DEMO_ADMIN_PASSWORD
    url = f"http://127.0.0.1:{settings.gateway_port}"
    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=60)) as http:
        members = 50
        products, shoppers = await prepare(
            http, email, password, members, coupons_per_member(campaign.orders, members)
        )
        admin = "Bearer " + await login(http, email, password)
    await _sandbox_faults(settings, campaign.seed, campaign.pg_server_errors, campaign.pg_answers_lost)
    try:
        return await campaign_run(settings, campaign, faults, (products, shoppers, admin))
    finally:
        await _sandbox_faults(settings, campaign.seed, 0.0, 0.0)


async def _sandbox_faults(settings: Settings, seed: int, server_error: float, answer_lost: float) -> None:
    auth = aiohttp.BasicAuth(settings.pg_secret_key, "")
    body = {"seed": seed, "server_error": server_error, "answer_lost": answer_lost}
    async with (
        aiohttp.ClientSession() as http,
        http.put(f"{settings.pg_base_url}/sandbox/faults", json=body, auth=auth) as r,
    ):
        r.raise_for_status()


def _audit() -> dict[str, Any]:
    command = [sys.executable, "-m", "market.cli", "audit", "--distributed", "--wait", "60"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return {"ok": done.returncode == 0, "report": done.stdout.strip(), "command": shlex.join(command)}


def _summary(report: dict[str, Any]) -> str:
    o, c = report["outcome"], report["campaign"]
    kinds: dict[str, int] = {}
    for f in report["injected"]:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
    return "\n".join([
        f"market chaos: seed {c['seed']}: {o['orders_placed']} orders placed, refused {o['orders_refused'] or 'none'}",
        f"  injected: {', '.join(f'{n} {k}' for k, n in kinds.items())}; PG 5xx {c['pg_server_errors']:.0%}, "
        f"answers lost {c['pg_answers_lost']:.0%}, duplicates {c['duplicates']:.0%}",
        f"  final: {o['by_status']}; unexpected {len(o['unexpected'])}; all terminal {o['all_terminal']}",
        f"  last fault over at {o['last_fault_at_s']} s; last order settled {o['settled_after_last_fault_s']} s later",
        f"  replicas not ready within a minute of their restart, restarted again: "
        f"{', '.join(r['target'] for r in o['restarted_again']) or 'none'}",
        f"  audit: {'PASSED' if report['audit']['ok'] else 'FAILED'} — {report['audit']['report']}",
    ])  # fmt: skip
