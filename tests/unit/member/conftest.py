"""Builds the real MemberService on the in-memory fakes, a manual clock and the real JWT issuer."""

from __future__ import annotations

import pytest

from market.kernel.clock import ManualClock
from market.member.adapters.jwt import JwtTokenIssuer
from market.member.adapters.memory import MemberState, memory_uow
from market.member.use_cases import MemberService
from market.web.auth import Auth, TokenSettings

SETTINGS = TokenSettings(secret="unit-test-secret-of-at-least-32-bytes!", ttl_seconds=900)


class FakeHasher:
    """Stands in for argon2 so the tests run fast; the argon2 adapter has its own test."""

    async def hash(self, password: str) -> str:
        return "fake$" + password[::-1]

    async def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "fake$" + password[::-1]


@pytest.fixture
def state() -> MemberState:
    return MemberState()


@pytest.fixture
def members(state: MemberState) -> MemberService:
    return MemberService(
        uow=memory_uow(state), clock=ManualClock(), hasher=FakeHasher(), tokens=JwtTokenIssuer(SETTINGS)
    )


@pytest.fixture
def token_settings() -> TokenSettings:
    return SETTINGS


@pytest.fixture
def auth() -> Auth:
    return Auth(SETTINGS)
