"""`market up` hands its services the way to MariaDB (the socket of the MariaDB it started, unless told) and
to Kafka (every broker of the cluster it started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from market.bootstrap.topology import _env, kafka_bootstrap, mysql_socket, remembered
from market.settings import Settings


def test_the_services_reach_the_local_mariadb_through_its_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MARKET_MYSQL_SOCKET", raising=False)
    assert mysql_socket(Settings(state_dir=tmp_path)) == str(tmp_path / "mariadb" / "mysqld.sock")


def test_a_socket_the_operator_set_wins_and_an_empty_one_means_tcp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARKET_MYSQL_SOCKET", "/run/mysqld/mysqld.sock")
    assert mysql_socket(Settings(state_dir=tmp_path)) == "/run/mysqld/mysqld.sock"
    monkeypatch.setenv("MARKET_MYSQL_SOCKET", "")
    assert mysql_socket(Settings(state_dir=tmp_path)) == ""


def test_a_mariadb_on_another_host_is_reached_over_tcp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MARKET_MYSQL_SOCKET", raising=False)
    assert mysql_socket(Settings(state_dir=tmp_path, mysql_host="db.internal")) == ""


def test_three_kafka_brokers_are_all_in_the_services_bootstrap_and_kept_for_later_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MARKET_KAFKA_BROKERS", "MARKET_KAFKA_BOOTSTRAP", "MARKET_REPLICAS"):
        monkeypatch.delenv(name, raising=False)
    run = tmp_path / "run"
    run.mkdir()
    (run / "kafka-brokers").write_text("3")  # what `market up --kafka-brokers 3` leaves
    later = remembered(Settings(state_dir=tmp_path))  # `market down`, `market status`, a later `up`
    env = _env(Settings(state_dir=tmp_path, data_dir=tmp_path))
    assert later.kafka_brokers == 3
    assert (env["MARKET_KAFKA_BROKERS"], env["MARKET_KAFKA_PORT"]) == ("3", "9092")
    assert env["MARKET_KAFKA_BOOTSTRAP"] == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert remembered(Settings(state_dir=tmp_path, kafka_brokers=1)).kafka_brokers == 1  # said anew: wins


def test_one_kafka_broker_keeps_the_configured_bootstrap(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, kafka_bootstrap="127.0.0.1:19092")
    assert kafka_bootstrap(settings) == "127.0.0.1:19092"
    moved = settings.model_copy(update={"kafka_brokers": 3})
    assert kafka_bootstrap(moved) == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"


def test_a_replica_that_died_as_this_processs_child_is_not_running(tmp_path: Path) -> None:
    """A replica `market chaos` restarted and killed stays a zombie until reaped: not running, and stopping
    it again is no error."""
    import subprocess
    import sys
    import time

    from market.bootstrap.topology import Replica, running, stop

    settings = Settings(state_dir=tmp_path)
    (tmp_path / "run").mkdir()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    (tmp_path / "run" / "order-0.pid").write_text(str(child.pid))
    time.sleep(0.5)  # it has exited, and nobody waited for it
    assert running(settings, Replica("order", 0)) is None
    stop(settings, Replica("order", 0))
    child.wait()
