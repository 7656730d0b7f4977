"""The order REST API: Location, Prefer: wait, Idempotency-Key replays, lists, cancel."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from market.order.adapters.memory import MemoryIdempotencyKeys
from tests.unit.order.fakes import World
from tests.unit.order.rest_kit import ALICE, LINE, PG, eventually, post_order, problem, settle, token


async def test_a_placed_order_is_201_with_its_location(http: httpx.AsyncClient) -> None:
    r = await post_order(http)
    assert r.status_code == 201, r.text
    order = r.json()
    assert r.headers["location"] == f"/api/v1/orders/{order['id']}"
    assert "preference-applied" not in r.headers
    assert order["status"] == "PENDING" and order["member_id"] == "mem_1" and order["total_amount"] == 5_000
    assert order["items"] == [
        {
            "product_id": "prd_a",
            "name": "Product prd_a",
            "unit_price": 5_000,
            "quantity": 1,
            "line_amount": 5_000,
            "cancelled_quantity": 0,
        }
    ]
    assert order["payments"] == [{"method": "PG", "amount": 5_000, "status": "PENDING", "refunded_amount": 0}]
    assert order["failure_reason"] is None and order["paid_at"] is None and order["cancelled_at"] is None
    assert [t["event"] for t in order["timeline"]] == ["ORDER_PLACED"]
    assert (await http.get(r.headers["location"], headers=ALICE)).json() == order


async def test_prefer_wait_answers_once_the_order_settles(http: httpx.AsyncClient, world: World) -> None:
    paying = asyncio.create_task(settle(world, "fail"))
    r = await post_order(http, Prefer="wait=5")
    await paying
    assert r.status_code == 201 and r.headers["preference-applied"] == "wait=5"
    assert (r.json()["status"], r.json()["failure_reason"]) == ("FAILED", "PG_DECLINED")


async def test_prefer_wait_is_clamped_to_10_and_answers_what_it_has_in_time(
    http: httpx.AsyncClient, world: World
) -> None:
    paying = asyncio.create_task(settle(world, "pay"))
    r = await post_order(http, Prefer="respond-async, wait=300")
    await paying
    assert r.headers["preference-applied"] == "wait=10" and r.json()["status"] == "PAID"
    started = time.monotonic()
    r = await post_order(http, Prefer="wait=1")
    assert r.json()["status"] == "PENDING" and 0.9 < time.monotonic() - started < 3


async def test_the_same_key_and_body_replay_the_first_response_byte_for_byte(
    http: httpx.AsyncClient, world: World
) -> None:
    first = await post_order(http, key="k1")
    await world.pay(next(iter(world.state.orders.values())))  # the order moves on; the replay does not
    again = await post_order(http, key="k1")
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["location"] == first.headers["location"]
    assert len(world.state.orders) == 1


async def test_a_placement_that_waited_replays_the_settled_order_it_answered(
    http: httpx.AsyncClient, world: World
) -> None:
    paying = asyncio.create_task(settle(world, "pay"))
    first = await post_order(http, key="k1", Prefer="wait=5")
    await paying
    assert first.status_code == 201 and first.json()["status"] == "PAID"
    again = await post_order(http, key="k1")
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["location"] == first.headers["location"] and len(world.state.orders) == 1


async def test_the_same_key_with_another_body_is_refused(http: httpx.AsyncClient, world: World) -> None:
    await post_order(http, key="k1")
    other = {"items": [{"product_id": "prd_b", "quantity": 1}], "payments": [{**PG, "amount": 2_000}]}
    problem(await post_order(http, other, key="k1"), 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(world.state.orders) == 1


async def test_the_same_key_while_the_first_request_waits_is_in_use(
    http: httpx.AsyncClient, world: World
) -> None:
    first = asyncio.create_task(post_order(http, key="k1", Prefer="wait=1"))
    await eventually(lambda: bool(world.state.orders))
    problem(await post_order(http, key="k1"), 409, "IDEMPOTENCY_KEY_IN_USE")
    assert (await first).status_code == 201
    assert len(world.state.orders) == 1


async def test_a_refused_request_frees_its_key(http: httpx.AsyncClient, world: World) -> None:
    too_many = {"items": [{"product_id": "prd_a", "quantity": 4}], "payments": [{**PG, "amount": 20_000}]}
    problem(await post_order(http, too_many, key="k1"), 409, "OUT_OF_STOCK")
    assert world.state.keys == {}
    world.catalog.stock["prd_a"] = 10  # restocked: the same request now succeeds
    assert (await post_order(http, too_many, key="k1")).status_code == 201


async def test_a_broken_payment_rule_leaves_no_key_and_no_order(
    http: httpx.AsyncClient, world: World
) -> None:
    short = {"items": [LINE], "payments": [{**PG, "amount": 4_000}]}
    problem(await post_order(http, short, key="k1"), 422, "AMOUNT_MISMATCH")
    assert world.state.keys == {} and world.state.orders == {}
    assert (await post_order(http, key="k1")).status_code == 201  # the key, for another request


async def test_a_response_that_cannot_be_stored_undoes_the_order_and_frees_its_key(
    http: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def disk_full(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(MemoryIdempotencyKeys, "finish", disk_full)  # inside the order's transaction
    with pytest.raises(RuntimeError):
        await post_order(http, key="k1")
    assert world.state.keys == {} and world.state.orders == {} and world.state.outbox == []
    assert world.catalog.stock["prd_a"] == 3  # given back
    monkeypatch.undo()
    first = await post_order(http, key="k1")
    again = await post_order(http, key="k1")
    assert first.status_code == 201 and (again.status_code, again.content) == (201, first.content)


async def test_my_orders_are_listed_newest_first_in_pages(http: httpx.AsyncClient) -> None:
    ids = [
        (
            await post_order(
                http,
                {"items": [{"product_id": "prd_b", "quantity": 1}], "payments": [{**PG, "amount": 2_000}]},
            )
        ).json()["id"]
        for _ in range(3)
    ]
    first = (await http.get("/api/v1/orders?limit=2", headers=ALICE)).json()
    assert [o["id"] for o in first["items"]] == ids[::-1][:2]
    rest = (await http.get(f"/api/v1/orders?limit=2&cursor={first['next_cursor']}", headers=ALICE)).json()
    assert [o["id"] for o in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert (await http.get("/api/v1/orders", headers=token("mem_bob"))).json() == {
        "items": [],
        "next_cursor": None,
    }
    problem(await http.get("/api/v1/orders?limit=0", headers=ALICE), 422, "VALIDATION_ERROR")


async def test_orders_need_a_token_and_another_members_order_is_404(http: httpx.AsyncClient) -> None:
    order = (await post_order(http)).json()
    problem(await http.get("/api/v1/orders"), 401, "UNAUTHORIZED")
    problem(await http.get(f"/api/v1/orders/{order['id']}", headers=token("mem_bob")), 404, "NOT_FOUND")
    cancel = await http.post(
        f"/api/v1/orders/{order['id']}/cancel", headers={**token("mem_bob"), "Idempotency-Key": "c"}
    )
    problem(cancel, 404, "NOT_FOUND")
    assert (
        await http.get(f"/api/v1/orders/{order['id']}", headers=token("mem_x", "admin"))
    ).status_code == 200


async def test_cancel_is_202_and_with_prefer_wait_answers_once_cancelled(
    http: httpx.AsyncClient, world: World
) -> None:
    order = (await post_order(http)).json()
    path = f"/api/v1/orders/{order['id']}/cancel"
    problem(await http.post(path, headers=ALICE), 422, "VALIDATION_ERROR")
    problem(await http.post(path, headers={**ALICE, "Idempotency-Key": "c0"}), 409, "ORDER_NOT_CANCELLABLE")
    await world.pay(await world.order(order["id"]))
    refunding = asyncio.create_task(settle(world, "refund"))
    r = await http.post(path, headers={**ALICE, "Idempotency-Key": "c1", "Prefer": "wait=5"})
    await refunding
    assert r.status_code == 202 and r.json()["status"] == "CANCELLED" and r.json()["cancelled_at"]
    assert r.headers["location"] == f"/api/v1/orders/{order['id']}"
    again = await http.post(path, headers={**ALICE, "Idempotency-Key": "c1"})
    assert (again.status_code, again.content) == (202, r.content)
    problem(await http.post(path, headers={**ALICE, "Idempotency-Key": "c2"}), 409, "ORDER_NOT_CANCELLABLE")


async def test_reading_an_order_with_prefer_wait_follows_it_until_it_settles(
    http: httpx.AsyncClient, world: World
) -> None:
    order = (await post_order(http)).json()
    path = f"/api/v1/orders/{order['id']}"
    started = time.monotonic()
    problem(await http.get(path, headers={**token("mem_bob"), "Prefer": "wait=5"}), 404, "NOT_FOUND")
    assert time.monotonic() - started < 1  # another member's order: refused at once, not waited on
    paying = asyncio.create_task(settle(world, "pay"))
    r = await http.get(path, headers={**ALICE, "Prefer": "wait=5"})
    await paying
    assert r.json()["status"] == "PAID" and r.headers["preference-applied"] == "wait=5"
    settled = await http.get(path, headers={**ALICE, "Prefer": "wait=5"})
    assert settled.json()["status"] == "PAID" and "preference-applied" not in settled.headers
    admin = await http.get(path, headers={**token("mem_x", "admin"), "Prefer": "wait=1"})
    assert admin.status_code == 200 and admin.json() == settled.json()
