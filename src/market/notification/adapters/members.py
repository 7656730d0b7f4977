"""The Recipients port served by the member service in the same process (the embedded mode).

Takes the member service as it is (`get_member` answering a member with `email`, `name`, `locale`)
without importing it: services meet only in the composition root.
"""

from __future__ import annotations

from typing import Any

from market.notification.domain import Recipient


class InProcessRecipients:
    def __init__(self, members: Any) -> None:
        self._members = members

    async def recipient(self, member_id: str) -> Recipient | None:
        m = await self._members.get_member(member_id)
        return None if m is None else Recipient(email=m.email, name=m.name, locale=m.locale)
