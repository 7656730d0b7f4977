"""A crash in the middle of sagas loses nothing: after a restart every order settles and nothing is charged twice."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.client import Api, line, pg
from tests.e2e.deployment import Deployment


async def test_kill_during_sagas_then_restart_completes_them(api: Api, deployment: Deployment) -> None:
    if not deployment.can_restart:
        pytest.skip("this deployment is restarted by the distributed fault tests instead")
    product = await api.product(price=1_000, stock=500)
    member = await api.member(points=100_000)
    plans = [
        [pg(500), {"method": "POINT", "amount": 500}],
        [pg(1_000, "pk_test_timeout_after_charge")],
        [pg(1_000, "pk_test_decline")],
    ]
    responses = await asyncio.gather(
        *[api.order(member, [line(product)], plans[i % 3], wait=None) for i in range(60)]
    )
    assert all(r.status_code == 201 for r in responses)
    deployment.kill()
    deployment.start()
    ids = [r.json()["id"] for r in responses]
    for _ in range(120):
        statuses = [(await api.get(member, f"/orders/{i}")).json()["status"] for i in ids]
        if "PENDING" not in statuses:
            break
        await asyncio.sleep(0.5)
    expected = ["PAID", "PAID", "FAILED"] * 20
    assert statuses == expected
    paid_points = sum(500 for i, s in enumerate(statuses) if s == "PAID" and i % 3 == 0)
    assert (await api.get(member, "/members/me")).json()["point_balance"] == 100_000 - paid_points
