"""The Mailer without a mail server (the embedded mode's default): each message as `<dir>/<event id>.eml`.

Named by the event id, so a message sent again replaces its file instead of adding one. Written to a
temporary name and renamed, so a reader never sees half a message.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from market.notification.adapters.mime import to_bytes
from market.notification.domain import Email


class EmlMailer:
    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self._sender = sender

    async def send(self, email: Email) -> None:
        data = to_bytes(email, self._sender)
        await asyncio.to_thread(self._write, email.event_id, data)

    def _write(self, event_id: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{event_id}.eml"
        partial = path.with_suffix(".eml.partial")
        partial.write_bytes(data)
        os.replace(partial, path)
