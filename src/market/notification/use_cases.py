"""The notification worker's use cases: record a notice per event, and send what is owed (SPEC §10.4).

Recording is one short transaction and calls nothing else, so the saga's events never wait on mail. The
sender claims each due notice, renders and sends it, and records the outcome: a failure leaves it pending,
to be tried again after a backoff, so a mail server that is down delays messages and loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta

from market.kernel.clock import Clock
from market.kernel.events import Envelope
from market.notification.domain import Backoff, Notice, State, Undeliverable, notice_from
from market.notification.ports import Mailer, Recipients, Templates, UnitOfWorkFactory

log = logging.getLogger("market.notification")


class NotificationService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        recipients: Recipients,
        templates: Templates,
        mailer: Mailer,
        replica: str,
        backoff: Backoff = Backoff(),
        claim_seconds: float = 60.0,
        batch: int = 50,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._recipients = recipients
        self._templates = templates
        self._mailer = mailer
        self._replica = replica
        self._backoff = backoff
        # Longer than one attempt can take (the mailer's timeout): a claim that expires mid-send lets another
        # replica send the same message.
        self._claim = timedelta(seconds=claim_seconds)
        self._batch = batch
        self._recorded = asyncio.Event()

    async def handle(self, envelope: Envelope) -> None:
        """Consume one event: record the message it calls for, once per event id."""
        await self.handle_batch((envelope,))

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Consume a poll's events: record the messages they call for in one transaction."""
        now = self._clock.now()
        notices = [n for n in (notice_from(e, now) for e in envelopes) if n is not None]
        if not notices:
            return
        async with self._uow() as uow:
            added = await uow.notices.add(notices)
        if added:
            self._recorded.set()  # after the commit: the sender finds the rows

    async def send_pending(self) -> int:
        """Send the notices due now, up to a batch; the number sent.

        Stops at the first attempt that failed for a reason that is not the message's own (the mail
        server or the member service is down): the others would fail alike, and wait for the next run."""
        async with self._uow() as uow:
            due = await uow.notices.due(self._clock.now(), self._batch)
        sent = 0
        for event_id in due:
            outcome = await self._send(event_id)
            if outcome is None:
                continue  # another replica has it
            if outcome.state is State.PENDING:
                break
            sent += outcome.state is State.SENT
        return sent

    async def run_sender(self, poll_seconds: float = 1.0) -> None:
        """Send forever: when a notice is recorded here, and every `poll_seconds` (retries, other replicas)."""
        while True:
            self._recorded.clear()
            try:
                sent = await self.send_pending()
            except Exception:
                log.exception("notification sender failed; it runs again in %.1f s", poll_seconds)
                sent = 0
            if sent >= self._batch:
                continue  # a full batch: there may be more behind it
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_seconds):
                    await self._recorded.wait()

    async def _send(self, event_id: str) -> Notice | None:
        now = self._clock.now()
        async with self._uow() as uow:
            notice = await uow.notices.claim(event_id, self._replica, now, now + self._claim)
        if notice is None:
            return None
        outcome = await self._attempt(notice)
        async with self._uow() as uow:
            await uow.notices.release(outcome, self._replica)
        return outcome

    async def _attempt(self, notice: Notice) -> Notice:
        try:
            recipient = await self._recipients.recipient(notice.member_id)
            if recipient is None:
                return notice.refused(f"member {notice.member_id} does not exist")
            await self._mailer.send(self._templates.render(notice, recipient))
        except Undeliverable as exc:
            log.warning("notification %s undeliverable: %s", notice.event_id, exc)
            return notice.refused(str(exc))
        except Exception as exc:
            log.warning(
                "notification %s not sent (attempt %d): %r", notice.event_id, notice.attempts + 1, exc
            )
            return notice.failed(self._clock.now(), f"{type(exc).__name__}: {exc}", self._backoff)
        return notice.delivered(self._clock.now())
