"""A serving process settles its heap once started (market.bootstrap.heap); an app built for a test does not."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from market.bootstrap import heap
from market.bootstrap.apps import embedded_app
from market.settings import Settings
from tests.asgi_app import started


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()  # this test process keeps its own collector settings
    gc.set_threshold(*thresholds)


async def _started(settings: Settings, serving: bool) -> tuple[int, tuple[int, int, int]]:
    async with started(embedded_app(settings, serving=serving)) as client:
        assert (await client.get("/healthz")).status_code == 200
        return gc.get_freeze_count(), gc.get_threshold()


async def test_the_served_app_freezes_what_start_up_left_and_collects_less_often(
    tmp_path: Path, restored: None
) -> None:
    frozen, thresholds = await _started(Settings(data_dir=tmp_path), serving=True)
    assert frozen > 10_000  # modules, routes, models: everything alive once started
    assert thresholds == heap.THRESHOLDS


async def test_an_app_built_for_a_test_leaves_the_collector_alone(tmp_path: Path, restored: None) -> None:
    before = gc.get_threshold()
    frozen, thresholds = await _started(Settings(data_dir=tmp_path), serving=False)
    assert frozen == 0
    assert thresholds == before
