"""`market up` hands its services the way to MariaDB: the socket of the MariaDB it started, unless told."""

from __future__ import annotations

from pathlib import Path

import pytest

from market.bootstrap.topology import mysql_socket
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
