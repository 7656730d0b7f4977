"""The member REST API over HTTP (in-process ASGI), on the in-memory fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from market.member.adapters.rest import router
from market.member.use_cases import MemberService
from market.web.app import build_app
from market.web.auth import Auth
from tests.openapi_conformance import conforming


@pytest.fixture
async def api(members: MemberService, auth: Auth) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app("test", [router(members, auth)], {})
    hooks = {"response": [conforming(app.openapi())]}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://test/api/v1", event_hooks=hooks
    ) as client:
        yield client


async def sign_up_and_log_in(api: httpx.AsyncClient, email: str) -> tuple[dict[str, Any], dict[str, str]]:
    created = await api.post("/members", json={"email": email, "name": "Kim", "password": "correct horse"})
    assert created.status_code == 201, created.text
    login = await api.post("/auth/token", json={"email": email, "password": "correct horse"})
    return created.json(), {"Authorization": f"Bearer {login.json()['access_token']}"}


async def admin_headers(api: httpx.AsyncClient, members: MemberService) -> dict[str, str]:
    await members.ensure_admin("admin@market.test", "admin-demo-password")
    login = await api.post(
        "/auth/token", json={"email": "admin@market.test", "password": "admin-demo-password"}
    )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_sign_up_then_log_in_then_see_yourself(api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/members", json={"email": "Kim@Example.com", "name": "Kim", "password": "correct horse"}
    )
    login = await api.post("/auth/token", json={"email": "kim@example.com", "password": "correct horse"})
    me = await api.get("/members/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})

    body = created.json()
    assert created.status_code == 201
    assert body == {
        "id": body["id"],
        "email": "kim@example.com",
        "name": "Kim",
        "point_balance": 0,
        "locale": "ko",
    }
    assert created.headers["location"] == f"/api/v1/members/{body['id']}"
    assert login.status_code == 200
    assert login.json()["token_type"] == "Bearer" and login.json()["expires_in"] == 900
    assert me.status_code == 200 and me.json() == body


async def test_a_member_who_signs_up_in_english_sees_it_on_its_page(api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/members",
        json={"email": "jo@example.com", "name": "Jo", "password": "correct horse", "locale": "en"},
    )
    login = await api.post("/auth/token", json={"email": "jo@example.com", "password": "correct horse"})
    me = await api.get("/members/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})

    assert created.status_code == 201 and created.json()["locale"] == "en"
    assert me.json()["locale"] == "en"


async def test_a_taken_email_answers_409_problem(api: httpx.AsyncClient) -> None:
    await sign_up_and_log_in(api, "kim@example.com")

    again = await api.post(
        "/members", json={"email": "KIM@example.com", "name": "K", "password": "other password"}
    )

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "EMAIL_TAKEN"


async def test_a_wrong_password_answers_401(api: httpx.AsyncClient) -> None:
    await sign_up_and_log_in(api, "kim@example.com")

    login = await api.post("/auth/token", json={"email": "kim@example.com", "password": "wrong password"})

    assert login.status_code == 401 and login.json()["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "kim@example.com", "name": "Kim", "password": "short"},
        {"email": "kim@example.com", "name": "Kim", "password": "correct horse", "role": "admin"},
        {"email": "not-an-email", "name": "Kim", "password": "correct horse"},
        {"email": "kim@example.com", "name": "Kim"},
        {"email": "kim@example.com", "name": "Kim", "password": "correct horse", "locale": "fr"},
        {"email": "kim@example.com", "name": "Kim", "password": "correct horse", "locale": None},
    ],
)
async def test_a_malformed_sign_up_answers_422(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    answer = await api.post("/members", json=body)

    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"


async def test_the_own_pages_need_a_token(api: httpx.AsyncClient) -> None:
    for path in ("/members/me", "/members/me/points"):
        answer = await api.get(path)
        assert answer.status_code == 401 and answer.json()["code"] == "UNAUTHORIZED"


async def test_an_admin_grant_shows_in_the_balance_and_the_ledger_pages(
    api: httpx.AsyncClient, members: MemberService
) -> None:
    kim, headers = await sign_up_and_log_in(api, "kim@example.com")
    admin = await admin_headers(api, members)

    for amount in (1_000, 2_000, -500):
        granted = await api.post(
            f"/admin/members/{kim['id']}/points", json={"amount": amount, "reason": "promo"}, headers=admin
        )
        assert granted.status_code == 200
    first = await api.get("/members/me/points", params={"limit": 2}, headers=headers)
    rest = await api.get(
        "/members/me/points", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=headers
    )

    assert granted.json()["point_balance"] == 2_500
    assert [e["delta"] for e in first.json()["items"]] == [-500, 2_000]
    assert [e["balance_after"] for e in rest.json()["items"]] == [1_000]
    assert rest.json()["next_cursor"] is None
    assert set(first.json()["items"][0]) == {
        "id",
        "delta",
        "balance_after",
        "reason",
        "order_id",
        "created_at",
    }


async def test_points_grants_are_for_admins_only(api: httpx.AsyncClient) -> None:
    kim, headers = await sign_up_and_log_in(api, "kim@example.com")

    answer = await api.post(
        f"/admin/members/{kim['id']}/points", json={"amount": 1_000, "reason": "me"}, headers=headers
    )

    assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN"


@pytest.mark.parametrize("amount", ["1000", 10.5, 0, 1_000_000_000_001])
async def test_a_grant_with_a_bad_amount_answers_422(
    api: httpx.AsyncClient, members: MemberService, amount: Any
) -> None:
    kim, _ = await sign_up_and_log_in(api, "kim@example.com")
    admin = await admin_headers(api, members)

    answer = await api.post(
        f"/admin/members/{kim['id']}/points", json={"amount": amount, "reason": "x"}, headers=admin
    )

    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"


async def test_a_grant_to_an_unknown_member_answers_404(
    api: httpx.AsyncClient, members: MemberService
) -> None:
    admin = await admin_headers(api, members)

    answer = await api.post(
        "/admin/members/mem_nobody/points", json={"amount": 1, "reason": "x"}, headers=admin
    )

    assert answer.status_code == 404 and answer.json()["code"] == "NOT_FOUND"


async def test_another_members_account_answers_404(api: httpx.AsyncClient) -> None:
    kim, _ = await sign_up_and_log_in(api, "kim@example.com")
    _, lee_headers = await sign_up_and_log_in(api, "lee@example.com")

    answer = await api.get(f"/members/{kim['id']}", headers=lee_headers)

    assert answer.status_code == 404 and answer.json()["code"] == "NOT_FOUND"
