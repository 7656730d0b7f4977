"""A three-node Kafka cluster (`market up --kafka-brokers 3`): every event topic keeps three copies and a
write is acknowledged once two hold it, so with a node killed the services' producers (acks=all,
idempotent) go on, and a consumer group still receives every record. Needs the cluster of
scripts/infra/kafka.sh with MARKET_KAFKA_BROKERS=3, a private one (a node of it is killed and started
again with the script, under the same environment; scripts/test runs one):

  MARKET_TEST_KAFKA_BROKERS=3    ask for these tests (they skip otherwise)
  MARKET_TEST_KAFKA_BOOTSTRAP    every broker, e.g. 127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096
  MARKET_STATE_DIR, MARKET_KAFKA_PORT, …   the cluster's, as it was started
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from market import platform
from market.infra.kafka import KafkaSubscriber, ensure_topics
from market.kernel.events import ORDER_EVENTS, Envelope
from market.settings import Settings
from tests.events import Consuming, event
from tests.integration.conftest import KAFKA_ENV, _missing
from tests.integration.test_kafka import NOW, publish, until

REPO = Path(__file__).resolve().parents[2]


def cluster() -> str:
    if os.environ.get("MARKET_TEST_KAFKA_BROKERS") != "3":
        pytest.skip("MARKET_TEST_KAFKA_BROKERS=3 is not set (a three-node cluster of scripts/infra/kafka.sh)")
    bootstrap = os.environ.get(KAFKA_ENV, "")
    if len(bootstrap.split(",")) != 3:
        _missing(f"{KAFKA_ENV}={bootstrap!r} does not list the three brokers")
    return bootstrap


@pytest.fixture
async def admin() -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=cluster())
    await client.start()
    yield client
    await client.close()


async def described(admin: AIOKafkaAdminClient, topics: list[str]) -> list[dict[str, Any]]:
    """The topics' metadata, once each has its partitions (a topic just created takes a moment)."""
    for _ in range(100):
        found: list[dict[str, Any]] = await admin.describe_topics(topics)
        if all(t["partitions"] for t in found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no partitions in {found}")


def kill_node(node: int) -> None:
    """SIGKILL a node (its pid file: kafka.pid, kafka-2.pid, …): no controlled shutdown, no leadership handed on."""
    pid = int(
        (Settings().state_dir / "kafka" / ("kafka.pid" if node == 1 else f"kafka-{node}.pid")).read_text()
    )
    assert "kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    os.kill(pid, signal.SIGKILL)


def start_again() -> None:
    """`kafka.sh start` starts the nodes that are down and returns once every partition is fully replicated."""
    result = subprocess.run([str(REPO / "scripts" / "infra" / "kafka.sh"), "start"], timeout=300)
    assert result.returncode == 0


async def min_insync(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, str]:
    """Each topic's effective `min.insync.replicas`, once the broker asked knows every topic (a topic just
    created reaches each broker's metadata a moment later; until then its entry has an error code)."""
    wanted = [ConfigResource(ConfigResourceType.TOPIC, t, {"min.insync.replicas": None}) for t in topics]
    for _ in range(100):
        [response] = await admin.describe_configs(wanted)
        resources = response.to_object()["resources"]
        if all(r["error_code"] == 0 for r in resources):
            return {r["resource_name"]: r["config_entries"][0]["config_value"] for r in resources}
        await asyncio.sleep(0.1)
    raise AssertionError(f"errors describing {topics}: {resources}")


async def test_every_topic_keeps_three_copies_and_needs_two_in_sync(admin: AIOKafkaAdminClient) -> None:
    created = f"cluster-{uuid.uuid4().hex[:8]}.dlq"  # as the services create their dead letters' topics
    await ensure_topics(cluster(), [created], partitions=3)
    topics = [*platform.TOPICS, created]
    try:
        for topic in await described(admin, topics):
            assert {len(p["replicas"]) for p in topic["partitions"]} == {3}, topic["topic"]
        assert await min_insync(admin, topics) == dict.fromkeys(topics, "2")
    finally:
        await admin.delete_topics([created])


async def test_with_a_node_killed_acks_all_writes_go_on_and_the_group_receives_every_record(
    admin: AIOKafkaAdminClient,
) -> None:
    bootstrap, prefix = cluster(), f"c{uuid.uuid4().hex[:10]}"
    [topic] = await described(admin, [ORDER_EVENTS])
    leader = Counter(p["leader"] for p in topic["partitions"]).most_common(1)[0][0]  # the node to kill
    seen: set[str] = set()

    async def record(envelope: Envelope) -> None:
        if envelope.order_id.startswith(prefix):
            seen.add(envelope.event_id)

    subscriber = KafkaSubscriber(bootstrap, client_id="cluster")
    subscriber.subscribe(ORDER_EVENTS, f"{prefix}-group", Consuming(record))
    await subscriber.start()  # in the group before the kill: its coordinator may be the node that dies
    before = [event("OrderCreated", f"{prefix}-ord_{n}", NOW, n=n) for n in range(12)]
    during = [event("OrderCreated", f"{prefix}-ord_{n}", NOW, n=n) for n in range(12, 72)]
    try:
        try:
            await publish(bootstrap, before)
            await until(lambda: len(seen) == len(before), 60)
            kill_node(leader)
            # A new producer, acks=all; keys over every partition, so the writes to those the dead node
            # led wait for their leadership to move (once the dead node's session expires, ~9 s).
            await asyncio.wait_for(publish(bootstrap, during), 120)
        finally:
            await asyncio.to_thread(start_again)  # whatever happened: the cluster whole again
        await until(lambda: len(seen) == len(before) + len(during), 90)
    finally:
        await subscriber.stop()
    assert seen == {e.event_id for e in before + during}
    [topic] = await described(admin, [ORDER_EVENTS])
    assert {len(p["isr"]) for p in topic["partitions"]} == {3}  # the node is back in every partition's sync
