"""scripts/infra/kafka.sh renders one configuration per Kafka node (`kafka.sh check`: no Java, nothing
started): three nodes make one cluster of three distinct brokers that keep three copies of every record."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.deploy.conftest import missing

REPO = Path(__file__).resolve().parents[2]


def check(state: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`kafka.sh check` in `state` with these settings, the others at their defaults."""
    if not shutil.which("envsubst"):
        missing("envsubst not found (apt-get install -y gettext-base)")
    kept = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_KAFKA_")}
    return subprocess.run(
        [str(REPO / "scripts" / "infra" / "kafka.sh"), "check"],
        env={**kept, "MARKET_STATE_DIR": str(state), **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def rendered(state: Path, **env: str) -> list[dict[str, str]]:
    """Each node's server.properties, as key → value."""
    result = check(state, **env)
    assert result.returncode == 0, result.stderr
    nodes = int(env.get("MARKET_KAFKA_BROKERS", "1"))
    files = [state / "kafka" / ("server.properties" if i == 1 else f"server-{i}.properties") for i in
             range(1, nodes + 1)]  # fmt: skip
    configs = []
    for file in files:
        lines = [line for line in file.read_text().splitlines() if line and not line.startswith("#")]
        assert all("=" in line and "${" not in line for line in lines), file.read_text()
        configs.append(dict(line.split("=", 1) for line in lines))
    return configs


def test_three_nodes_are_three_distinct_brokers_of_one_quorum_with_three_copies(tmp_path: Path) -> None:
    configs = rendered(tmp_path, MARKET_KAFKA_BROKERS="3")
    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    assert [c["listeners"] for c in configs] == [
        f"PLAINTEXT://127.0.0.1:{broker},CONTROLLER://127.0.0.1:{controller}"
        for broker, controller in ((9092, 9093), (9094, 9095), (9096, 9097))
    ]
    assert len({c["log.dirs"] for c in configs}) == 3
    assert {c["controller.quorum.voters"] for c in configs} == {
        "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    }
    for c in configs:
        assert (c["default.replication.factor"], c["min.insync.replicas"]) == ("3", "2")
        assert (c["offsets.topic.replication.factor"], c["transaction.state.log.min.isr"]) == ("3", "2")
        assert c["unclean.leader.election.enable"] == "false"


def test_one_node_is_the_single_broker_it_always_was(tmp_path: Path) -> None:
    [config] = rendered(tmp_path)
    assert (config["node.id"], config["controller.quorum.voters"]) == ("1", "1@127.0.0.1:9093")
    assert config["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert config["log.dirs"] == str(tmp_path.resolve() / "kafka" / "data")
    assert (config["default.replication.factor"], config["min.insync.replicas"]) == ("1", "1")


def test_with_sasl_every_node_replicates_over_the_sasl_listener_with_the_credentials(tmp_path: Path) -> None:
    configs = rendered(tmp_path, MARKET_KAFKA_BROKERS="3", MARKET_KAFKA_SASL="1", MARKET_KAFKA_PASSWORD="pw")
    for c in configs:
        assert c["inter.broker.listener.name"] == "SASL_PLAINTEXT"
        assert c["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
        assert 'password="pw"' in c["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"]


def test_ports_that_overlap_across_nodes_are_refused(tmp_path: Path) -> None:
    result = check(tmp_path, MARKET_KAFKA_BROKERS="3", MARKET_KAFKA_CONTROLLER_PORT="9094")
    assert result.returncode != 0 and "overlap" in result.stderr
