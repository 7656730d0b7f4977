"""The real NotificationService on fakes: notices in memory, a manual clock, the real templates."""

from __future__ import annotations

import pytest

from market.kernel.clock import ManualClock
from market.notification.adapters.memory import NotificationState
from market.notification.use_cases import NotificationService
from tests.unit.notification.fakes import FakeMailer, FakeMembers, worker


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def state() -> NotificationState:
    return NotificationState()


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
def members() -> FakeMembers:
    return FakeMembers()


@pytest.fixture
def service(
    state: NotificationState, clock: ManualClock, members: FakeMembers, mailer: FakeMailer
) -> NotificationService:
    return worker(state, clock, members, mailer)
