"""The read side (SPEC §10.2) through the public API, in either mode: a member's orders by status, the
admins' search over every member's orders, and sales statistics that equal a recomputation from the
orders and payments the other endpoints show. The read model lags by seconds: its answers are polled."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tests.e2e.client import Api, Member, line, pg
from tests.e2e.deployment import Deployment

KST = timezone(timedelta(hours=9))
SETTLED = ("PAID", "FAILED", "CANCELLED")


def kst_day(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(KST).date().isoformat()


async def until(read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], seconds: float = 20) -> Any:
    """What `read` answers once `done` says so (the read model catching up), or fail after `seconds`."""
    for _ in range(int(seconds * 10)):
        answer = await read()
        if done(answer):
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError(f"not caught up after {seconds} s: {answer}")


async def search(api: Api, **filters: Any) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/admin/orders", headers=api.admin, params={"limit": 100, **filters})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def placed(
    api: Api, member: Member, items: list[dict[str, Any]], plan: list[dict[str, Any]]
) -> dict[str, Any]:
    r = await api.order(member, items, plan, wait=10)
    assert r.status_code == 201 and r.json()["status"] in SETTLED, r.text
    return dict(r.json())


async def test_a_members_orders_filter_by_status_and_refuse_unknown_filters(api: Api) -> None:
    product = await api.product(price=1_000)
    member = await api.member()
    paid = await placed(api, member, [line(product)], [pg(1_000)])
    failed = await placed(api, member, [line(product)], [pg(1_000, "pk_test_decline")])

    by_status = {
        s: (await api.get(member, f"/orders?status={s}")).json()["items"] for s in ("PAID", "FAILED")
    }
    assert [o["id"] for o in by_status["PAID"]] == [paid["id"]]
    assert [o["id"] for o in by_status["FAILED"]] == [failed["id"]]
    for query in ("status=SHIPPED", "colour=red"):
        r = await api.get(member, f"/orders?{query}")
        assert (r.status_code, r.json()["code"]) == (422, "VALIDATION_ERROR"), query


async def test_admins_search_every_members_orders_by_each_filter(api: Api) -> None:
    mug, cup = await api.product(price=2_000), await api.product(price=3_000)
    alice, bob = await api.member(), await api.member()
    both = await placed(api, alice, [line(mug), line(cup)], [pg(5_000)])
    declined = await placed(api, bob, [line(cup)], [pg(3_000, "pk_test_decline")])
    cancelled = await placed(api, bob, [line(mug)], [pg(2_000)])
    assert (await api.cancel(bob, cancelled["id"], wait=10)).json()["status"] == "CANCELLED"
    mine = {both["id"], declined["id"], cancelled["id"]}

    def statuses(items: list[dict[str, Any]]) -> dict[str, str]:
        return {o["id"]: o["status"] for o in items if o["id"] in mine}

    everyone = await until(lambda: search(api), lambda found: set(statuses(found).values()) == set(SETTLED))
    assert statuses(everyone) == {both["id"]: "PAID", declined["id"]: "FAILED", cancelled["id"]: "CANCELLED"}
    assert {o["id"] for o in await search(api, member_id=bob.id)} == {declined["id"], cancelled["id"]}
    assert {o["id"] for o in await search(api, seller_id=mug["seller_id"])} == {both["id"], cancelled["id"]}
    assert {o["id"] for o in await search(api, seller_id=cup["seller_id"], status="FAILED")} == {
        declined["id"]
    }
    [row] = [o for o in await search(api, member_id=bob.id, status="CANCELLED")]
    assert (row["refunded_amount"], row["items"][0]["seller_id"]) == (2_000, mug["seller_id"])
    now = datetime.now(UTC)
    assert mine <= {o["id"] for o in await search(api, **{"from": (now - timedelta(minutes=5)).isoformat()})}
    assert not mine & {o["id"] for o in await search(api, to=(now - timedelta(minutes=5)).isoformat())}
    assert not mine & {o["id"] for o in await search(api, stuck="true")}  # every one settled

    first = await api.http.get(
        "/api/v1/admin/orders", headers=api.admin, params={"member_id": bob.id, "limit": 1}
    )
    page = first.json()
    second = await api.http.get(
        "/api/v1/admin/orders",
        headers=api.admin,
        params={"member_id": bob.id, "limit": 1, "cursor": page["next_cursor"]},
    )
    assert [page["items"][0]["id"], second.json()["items"][0]["id"]] == [cancelled["id"], declined["id"]]
    assert second.json()["next_cursor"] is None

    for bad in ({"status": "LOST"}, {"colour": "red"}, {"from": "yesterday"}, {"limit": 0}):
        r = await api.http.get("/api/v1/admin/orders", headers=api.admin, params=bad)
        assert (r.status_code, r.json()["code"]) == (422, "VALIDATION_ERROR"), bad
    r = await api.http.get("/api/v1/admin/orders", headers=bob.headers)
    assert (r.status_code, r.json()["code"]) == (403, "FORBIDDEN")


async def expected_sales(
    api: Api, member: Member, order_ids: list[str], seller_of: dict[str, str]
) -> dict[tuple[str, str], list[int]]:
    """Per (KST day, seller): [orders, gross, refunded], from the orders and the payments' refunds."""
    figures: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for order_id in order_ids:
        order = (await api.get(member, f"/orders/{order_id}")).json()
        legs = (await api.get(member, f"/payments?order_id={order_id}")).json()["items"]
        if order["paid_at"] is None:
            continue
        by_seller: dict[str, int] = defaultdict(int)
        for item in order["items"]:
            by_seller[seller_of[item["product_id"]]] += item["line_amount"]
        for seller, amount in by_seller.items():
            figures[(kst_day(order["paid_at"]), seller)][0] += 1
            figures[(kst_day(order["paid_at"]), seller)][1] += amount
        refunded = sum(leg["refunded_amount"] for leg in legs)
        if refunded:
            assert refunded == order["total_amount"]  # these plans give every won back
            refund_day = kst_day(max(leg["refunded_at"] for leg in legs if leg["refunded_at"]))
            for seller, amount in by_seller.items():
                figures[(refund_day, seller)][2] += amount
    return dict(figures)


async def test_sales_statistics_equal_a_recomputation_from_the_orders_and_payments(api: Api) -> None:
    mug, cup = await api.product(price=2_000, stock=50), await api.product(price=3_500, stock=50)
    member = await api.member(points=100_000)
    plans = [
        ([line(mug, 2)], [pg(4_000)]),
        ([line(mug), line(cup)], [pg(4_500), {"method": "POINT", "amount": 1_000}]),
        ([line(cup, 3)], [pg(10_500, "pk_test_decline")]),
        ([line(cup)], [{"method": "POINT", "amount": 3_500}]),
        ([line(mug, 3), line(cup, 2)], [pg(13_000)]),
    ]
    orders = [await placed(api, member, items, plan) for items, plan in plans]
    for cancelled in (orders[1], orders[4]):
        assert (await api.cancel(member, cancelled["id"], wait=10)).json()["status"] == "CANCELLED"
    sellers = {mug["seller_id"], cup["seller_id"]}
    seller_of = {mug["id"]: mug["seller_id"], cup["id"]: cup["seller_id"]}
    expected = await expected_sales(api, member, [o["id"] for o in orders], seller_of)
    today = datetime.now(KST).date()
    window = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}

    async def figures() -> dict[tuple[str, str], list[int]]:
        found = {}
        for seller in sorted(sellers):
            r = await api.http.get(
                "/api/v1/admin/stats/sales", headers=api.admin, params={**window, "seller_id": seller}
            )
            assert r.status_code == 200, r.text
            for f in r.json()["items"]:
                assert f["net_amount"] == f["gross_amount"] - f["refunded_amount"]
                found[(f["date"], f["seller_id"])] = [f["orders"], f["gross_amount"], f["refunded_amount"]]
        return found

    assert await until(figures, lambda found: found == expected) == expected
    assert (
        sum(v[1] for v in expected.values()) == 4_000 + 5_500 + 3_500 + 13_000
    )  # the declined one is not a sale

    r = await api.http.get(
        "/api/v1/admin/stats/sales",
        headers={**api.admin, "Accept": "text/csv"},
        params={**window, "seller_id": mug["seller_id"]},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [
        (row["date"], int(row["gross_amount"]), int(row["refunded_amount"]), int(row["net_amount"]))
        for row in rows
    ] == [
        (day, gross, refunded, gross - refunded)
        for (day, seller), (_, gross, refunded) in sorted(expected.items())
        if seller == mug["seller_id"]
    ]
    for bad in (
        {"from": "2026-02-30"},
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"from": "2024-01-01", "to": "2026-01-01"},
    ):
        r = await api.http.get("/api/v1/admin/stats/sales", headers=api.admin, params=bad)
        assert (r.status_code, r.json()["code"]) == (422, "VALIDATION_ERROR"), bad


async def test_the_read_model_rebuilt_from_the_orders_is_the_one_the_events_made(
    api: Api, deployment: Deployment
) -> None:
    mug = await api.product(price=2_000)
    member = await api.member(points=10_000)
    kept = await placed(api, member, [line(mug, 2)], [pg(3_000), {"method": "POINT", "amount": 1_000}])
    cancelled = await placed(api, member, [line(mug)], [pg(2_000)])
    assert (await api.cancel(member, cancelled["id"], wait=10)).json()["status"] == "CANCELLED"
    failed = await placed(api, member, [line(mug)], [pg(2_000, "pk_test_decline")])
    mine = {kept["id"], cancelled["id"], failed["id"]}
    wanted = {kept["id"]: "PAID", cancelled["id"]: "CANCELLED", failed["id"]: "FAILED"}

    async def steady() -> list[dict[str, Any]] | None:
        """The member's orders as the events made them, once a second brings nothing new: a failed
        order is FAILED from its PaymentFailed, and its OrderFailed, later, moves its `updated_at`."""
        first = await search(api, member_id=member.id)
        await asyncio.sleep(1)
        return first if await search(api, member_id=member.id) == first else None

    by_events = await until(
        steady, lambda found: found is not None and {o["id"]: o["status"] for o in found} == wanted, 40
    )
    today = datetime.now(KST).date().isoformat()
    stats = {"from": today, "to": today, "seller_id": mug["seller_id"]}
    sales = (await api.http.get("/api/v1/admin/stats/sales", headers=api.admin, params=stats)).json()

    rebuilt = await asyncio.to_thread(deployment.rebuild_read_model)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert int(rebuilt.stdout.split("from ")[1].split()[0]) >= 7  # our orders' events, told again

    assert await search(api, member_id=member.id) == by_events
    assert (await api.http.get("/api/v1/admin/stats/sales", headers=api.admin, params=stats)).json() == sales
    assert {o["id"] for o in by_events} == mine and sales["items"][0]["refunded_amount"] == 2_000
