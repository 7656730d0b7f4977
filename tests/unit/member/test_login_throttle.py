"""Login throttling (SPEC §10.5): per email, per client address, and sign-ups per address."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from market.kernel.clock import ManualClock
from market.kernel.errors import DomainError
from market.member.adapters.jwt import JwtTokenIssuer
from market.member.adapters.memory import memory_uow
from market.member.adapters.rest import router
from market.member.domain import LoginLimits
from market.member.use_cases import MemberService
from market.web.app import build_app
from market.web.auth import Auth
from tests.unit.member.conftest import SETTINGS, FakeHasher


def service(clock: ManualClock, limits: LoginLimits | None = None) -> MemberService:
    return MemberService(
        uow=memory_uow(), clock=clock, hasher=FakeHasher(), tokens=JwtTokenIssuer(SETTINGS), limits=limits
    )


async def refused(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code


async def test_five_failures_lock_the_email_until_the_window_ends_even_for_the_right_password() -> None:
    clock = ManualClock()
    members = service(clock)
    await members.sign_up("kim@example.com", "Kim", "correct horse")
    for _ in range(5):
        assert await refused(members.login("kim@example.com", "wrong horse", "10.0.0.1")) == "UNAUTHORIZED"
    assert await refused(members.login("Kim@Example.com", "correct horse", "10.0.0.2")) == "RATE_LIMITED"
    clock.advance(timedelta(minutes=15))
    assert (await members.login("kim@example.com", "correct horse", "10.0.0.2")).access_token


async def test_a_success_clears_the_emails_failures() -> None:
    members = service(ManualClock())
    await members.sign_up("kim@example.com", "Kim", "correct horse")
    for _ in range(4):
        await refused(members.login("kim@example.com", "wrong horse", "10.0.0.1"))
    await members.login("kim@example.com", "correct horse", "10.0.0.1")
    for _ in range(4):
        assert await refused(members.login("kim@example.com", "wrong horse", "10.0.0.1")) == "UNAUTHORIZED"


async def test_an_address_trying_many_emails_is_stopped_but_others_still_log_in() -> None:
    members = service(ManualClock(), LoginLimits(address_failures=8))
    await members.sign_up("kim@example.com", "Kim", "correct horse")
    for n in range(8):
        await refused(members.login(f"guess-{n}@example.com", "x" * 8, "10.0.0.66"))
    assert await refused(members.login("kim@example.com", "correct horse", "10.0.0.66")) == "RATE_LIMITED"
    assert (await members.login("kim@example.com", "correct horse", "10.0.0.7")).access_token


async def test_sign_ups_per_address_are_limited() -> None:
    members = service(ManualClock(), LoginLimits(signups_per_address=2))
    await members.sign_up("a@example.com", "A", "correct horse", address="10.0.0.9")
    await members.sign_up("b@example.com", "B", "correct horse", address="10.0.0.9")
    blocked = members.sign_up("c@example.com", "C", "correct horse", address="10.0.0.9")
    assert await refused(blocked) == "RATE_LIMITED"
    await members.sign_up("c@example.com", "C", "correct horse", address="10.0.0.10")


async def test_the_api_answers_429_with_retry_after() -> None:
    clock = ManualClock()
    members = service(clock)
    await members.sign_up("kim@example.com", "Kim", "correct horse")
    app = build_app("test", [router(members, Auth(SETTINGS))], {})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as http:
        for _ in range(5):
            r = await http.post("/api/v1/auth/token", json={"email": "kim@example.com", "password": "nope"})
            assert r.status_code == 401
        r = await http.post(
            "/api/v1/auth/token", json={"email": "kim@example.com", "password": "correct horse"}
        )
    assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED"
    assert r.headers["content-type"] == "application/problem+json"
    assert 1 <= int(r.headers["Retry-After"]) <= 900
