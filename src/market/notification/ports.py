"""What the notification use cases need: their notices' store, the members' addresses, templates, a mailer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from market.notification.domain import Email, Notice, Recipient


class NoticeRepository(Protocol):
    async def add(self, notices: Sequence[Notice]) -> int:
        """Record the notices whose event id is new; how many were (a duplicate event records nothing)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Up to `limit` event ids of pending notices due by `now` and not claimed, the longest due first."""
        ...

    async def claim(self, event_id: str, replica: str, now: datetime, until: datetime) -> Notice | None:
        """Take the notice for `replica` until `until` if it is still pending, due and unclaimed (or its
        claim expired); the notice as it stands, or None when another replica has it or it is done."""
        ...

    async def release(self, notice: Notice, replica: str) -> bool:
        """Store the outcome of an attempt and drop the claim; False (nothing stored) if `replica` lost it."""
        ...

    async def get(self, event_id: str) -> Notice | None: ...


class UnitOfWork(Protocol):
    """One transaction: commits when its block ends normally, rolls back when it raises."""

    @property
    def notices(self) -> NoticeRepository: ...


UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


class Recipients(Protocol):
    """Where and in which language to write to a member; served by the member service."""

    async def recipient(self, member_id: str) -> Recipient | None:
        """The member's address, name and locale; None when there is no such member.

        Raises (e.g. `Unavailable`) when the member service cannot answer: the message waits."""
        ...


class Templates(Protocol):
    def render(self, notice: Notice, recipient: Recipient) -> Email:
        """The message for the notice, in the recipient's language: subject, plain text and HTML."""
        ...


class Mailer(Protocol):
    async def send(self, email: Email) -> None:
        """Return once the mail server accepted the message.

        Raises `Undeliverable` when it never will (the address refused for good); any other error means
        "not now" and the message is tried again later."""
        ...
