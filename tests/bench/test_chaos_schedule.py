"""The fault campaign's schedule is the seed's alone: replayable, within the span, as many faults as asked."""

from __future__ import annotations

import pytest

from market_bench.chaos.schedule import Campaign, span_for

REPLICAS = ["member-0", "product-0", "order-0", "order-1", "payment-0", "payment-1", "notification-0"]


def test_a_seed_replays_the_same_schedule_and_another_seed_does_not() -> None:
    campaign = Campaign(seed=7, orders=2000, span=span_for(2000, 3))
    first, again = campaign.schedule(REPLICAS), campaign.schedule(REPLICAS)
    assert first == again
    assert first != Campaign(seed=8, orders=2000, span=campaign.span).schedule(REPLICAS)


def test_the_schedule_has_every_fault_asked_for_within_the_span_in_time_order() -> None:
    campaign = Campaign(
        seed=3, orders=200, span=span_for(200, 2), kills=4, kafka_restarts=1, mariadb_restarts=1
    )
    faults = campaign.schedule(REPLICAS)
    kinds = [f.kind for f in faults]
    assert (
        kinds.count("kill") == 4 and kinds.count("kafka-restart") == 1 and kinds.count("mariadb-restart") == 1
    )
    assert all(0 < f.at <= campaign.span for f in faults) and faults == sorted(faults, key=lambda f: f.at)
    assert {f.target for f in faults if f.kind == "kill"} <= set(REPLICAS)
    restarts = [f.at for f in faults if f.kind != "kill"]
    assert restarts[1] - restarts[0] >= 10  # one restart has recovered before the next


def test_the_load_is_paced_at_the_rate_asked_for_and_the_faults_spread_over_it() -> None:
    """2,000 orders at 8 a second take 250 s, and the faults fall across those 250 s, not the first 80."""
    span = span_for(2000, 3, rate=8.0)
    faults = Campaign(seed=11, orders=2000, span=span).schedule(REPLICAS)
    assert span == 250.0 and span_for(2000, 3, rate=25.0) == 80.0
    assert max(f.at for f in faults) > 150


async def test_a_replica_struck_again_while_it_starts_is_killed_only_once_it_is_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two kills of one replica 0.1 s apart, while its restart takes 0.5 s: the second waits for it."""
    import time

    from market_bench.chaos import campaign
    from market_bench.chaos.schedule import Fault

    calls: list[tuple[str, str, float]] = []

    def stop(_settings: object, replica: campaign.Replica, _sig: int) -> None:
        calls.append(("kill", f"{replica.service}-{replica.index}", time.monotonic()))

    def start(_settings: object, replica: campaign.Replica) -> None:
        time.sleep(0.5)  # a restart that takes a while to be ready
        calls.append(("ready", f"{replica.service}-{replica.index}", time.monotonic()))

    monkeypatch.setattr(campaign, "stop", stop)
    monkeypatch.setattr(campaign, "start", start)
    faults = [Fault(0.0, "kill", "notification-0", 0.01), Fault(0.1, "kill", "notification-0", 0.01),
              Fault(0.1, "kill", "order-1", 0.01)]  # fmt: skip
    run = campaign.Run()
    await campaign.strike(None, run, faults)  # type: ignore[arg-type]
    ours = [(kind, at) for kind, target, at in calls if target == "notification-0"]
    assert [kind for kind, _ in ours] == ["kill", "ready", "kill", "ready"]
    others = [at for kind, target, at in calls if target == "order-1" and kind == "kill"]
    assert others and others[0] < ours[1][1]  # another replica's fault does not wait
    assert len(run.injected) == 3


async def test_a_replica_not_ready_after_its_restart_is_restarted_once_more_and_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from market_bench.chaos import campaign
    from market_bench.chaos.schedule import Fault

    kills: list[str] = []
    starts: list[str] = []

    def stop(_settings: object, replica: campaign.Replica, _sig: int) -> None:
        kills.append(replica.service)

    def start(_settings: object, replica: campaign.Replica) -> None:
        starts.append(replica.service)
        if len(starts) == 1:
            raise SystemExit("market up: notification-0 not ready after 60 s")

    monkeypatch.setattr(campaign, "stop", stop)
    monkeypatch.setattr(campaign, "start", start)
    run = campaign.Run()
    await campaign.strike(None, run, [Fault(0.0, "kill", "notification-0", 0.01)])  # type: ignore[arg-type]
    assert kills == ["notification", "notification"] and starts == ["notification", "notification"]
    assert [r["target"] for r in campaign.outcome(run)["restarted_again"]] == ["notification-0"]
