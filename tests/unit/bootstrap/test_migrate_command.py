"""`market migrate`: what it applied to each service's database, which databases it means, `--new`."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from market.bootstrap.migrate import HISTORIES, on_mariadb
from market.cli import main
from market.infra.migrations import History, migrate
from market.infra.sqlite import SqliteDatabase
from market.platform import SERVICES
from market.settings import Settings
from tests.contract.test_migrations import as_the_previous_mechanism_left_it


@pytest.fixture(autouse=True)
def no_mariadb_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARKET_MYSQL_HOST", raising=False)


def test_it_prints_each_revision_it_applied_then_that_nothing_is_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "order: applied 9, now at order_0009\n" in out
    assert "  order_0002: The orders (lines, legs and timeline as JSON values of the row)" in out
    assert [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")] == [
        s.name for s in SERVICES
    ]
    assert main(["migrate", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{s.name}: at {HISTORIES[s.name].revisions()[-1]}, nothing to apply" for s in SERVICES
    ]


def test_one_service_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--data-dir", str(tmp_path), "--service", "payment"]) == 0
    assert capsys.readouterr().out.startswith("payment: applied 6, now at payment_0006\n")
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["payment.db"]


def test_a_database_of_the_previous_mechanism_is_said_to_be_adopted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def previous() -> None:
        db = SqliteDatabase(tmp_path / "member.db")
        await as_the_previous_mechanism_left_it(db, HISTORIES["member"], 3)
        await db.close()

    asyncio.run(previous())
    assert main(["migrate", "--data-dir", str(tmp_path), "--service", "member"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "member: adopted from schema_migrations at member_0003; applied 2, now at member_0005",
        "  member_0004: Login and sign-up attempts per key and fixed window: the throttle of SPEC §10.5.",
        "  member_0005: A ledger row per kind and refund: partial cancellations refund an order's points "
        "more than once.",
    ]


def test_without_a_data_dir_it_means_mariadb_when_a_mariadb_host_is_set() -> None:
    assert not on_mariadb(Settings(), asked=False, data_dir_given=False)  # ./data
    assert on_mariadb(Settings(), asked=True, data_dir_given=False)
    assert on_mariadb(Settings(mysql_host="db.internal"), asked=False, data_dir_given=False)  # the Helm Job
    assert not on_mariadb(Settings(mysql_host="db.internal"), asked=False, data_dir_given=True)


async def test_a_new_revision_follows_the_head_and_is_applied_next(tmp_path: Path) -> None:
    folder = tmp_path / "reporting"
    shutil.copytree(HISTORIES["reporting"].folder, folder, ignore=shutil.ignore_patterns("__pycache__"))
    history = History("reporting", folder)
    path = history.new_revision("Report orders carry their channel")
    assert path == folder / "reporting_0003_report_orders_carry_their_channel.py"
    path.write_text(
        path.read_text().replace('run("")', 'run("ALTER TABLE report_orders ADD COLUMN c VARCHAR(8)")')
    )
    db = SqliteDatabase(tmp_path / "reporting.db")
    migrated = await migrate(db, history)
    assert migrated.applied[-1] == "reporting_0003: Report orders carry their channel"
    async with db.transaction() as tx:
        assert await tx.fetchall("SELECT c FROM report_orders") == []
    await db.close()
