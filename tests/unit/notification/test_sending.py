"""Sending: a mail server that is down delays messages and loses none; retries back off; replicas never
send one message twice."""

from __future__ import annotations

import asyncio

from market.kernel.clock import ManualClock
from market.notification.adapters.memory import NotificationState, memory_uow
from market.notification.domain import Backoff, State
from market.notification.use_cases import NotificationService
from tests.unit.notification.fakes import (
    CLAIM_SECONDS,
    FakeMailer,
    FakeMembers,
    cancelled,
    failed,
    paid,
    seconds,
    worker,
)


async def test_a_message_waits_while_the_mail_server_is_down_and_goes_once_it_is_back(
    service: NotificationService, mailer: FakeMailer, state: NotificationState, clock: ManualClock
) -> None:
    event = paid()
    await service.handle(event)
    mailer.down = True
    start = clock.now()

    assert await service.send_pending() == 0  # attempt 1 fails: next in 2 s
    assert await service.send_pending() == 0  # not due yet: no attempt
    clock.advance(seconds(1.9))
    assert await service.send_pending() == 0
    assert mailer.attempts == 1
    clock.advance(seconds(0.1))
    assert await service.send_pending() == 0  # attempt 2 fails: next in 4 s
    notice = state.notices[event.event_id]
    assert (notice.state, notice.attempts) == (State.PENDING, 2)
    assert notice.next_attempt_at == start + seconds(2 + 4)
    assert notice.last_error == "ConnectionRefusedError: the mail server is down"

    mailer.down = False
    clock.advance(seconds(3.9))
    assert await service.send_pending() == 0 and mailer.attempts == 2  # backoff honoured
    clock.advance(seconds(0.1))
    assert await service.send_pending() == 1
    clock.advance(seconds(3600))
    assert await service.send_pending() == 0

    sent = state.notices[event.event_id]
    assert [m.event_id for m in mailer.sent] == [event.event_id]
    assert (sent.state, sent.attempts, sent.sent_at, sent.last_error) == (
        State.SENT,
        3,
        clock.now() - seconds(3600),
        None,
    )


def test_the_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first=2.0, cap=60.0)

    assert [backoff.delay(n).total_seconds() for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


async def test_one_failed_attempt_ends_the_run_and_the_rest_wait_their_turn(
    service: NotificationService, mailer: FakeMailer, state: NotificationState, clock: ManualClock
) -> None:
    await service.handle_batch([paid(), failed(), cancelled()])
    mailer.down = True

    assert await service.send_pending() == 0
    assert mailer.attempts == 1  # the others were not tried against a server known to be down
    mailer.down = False
    assert await service.send_pending() == 2  # the two not tried yet
    clock.advance(seconds(2))
    assert await service.send_pending() == 1
    assert len(mailer.sent) == 3 and all(n.state is State.SENT for n in state.notices.values())


async def test_a_member_service_that_is_down_delays_the_message_too(
    service: NotificationService, members: FakeMembers, mailer: FakeMailer, clock: ManualClock
) -> None:
    await service.handle(paid())
    members.down = True

    assert await service.send_pending() == 0
    members.down = False
    clock.advance(seconds(2))

    assert await service.send_pending() == 1 and len(mailer.sent) == 1


async def test_a_message_that_can_never_arrive_is_given_up_without_blocking_the_others(
    service: NotificationService, mailer: FakeMailer, state: NotificationState, clock: ManualClock
) -> None:
    gone, bounced, fine = paid("ord_1", "mem_gone"), failed("ord_2", "mem_jo"), cancelled("ord_3")
    mailer.refused.add("jo@example.com")
    await service.handle_batch([gone, bounced, fine])

    assert await service.send_pending() == 1
    clock.advance(seconds(3600))
    assert await service.send_pending() == 0

    assert [m.event_id for m in mailer.sent] == [fine.event_id]
    assert state.notices[gone.event_id].state is State.UNDELIVERABLE
    assert state.notices[gone.event_id].last_error == "member mem_gone does not exist"
    assert state.notices[bounced.event_id].state is State.UNDELIVERABLE
    assert mailer.attempts == 2  # the bounce once, the good one once; none for the member that is gone


async def test_two_replicas_sending_at_once_send_each_message_once(
    state: NotificationState, clock: ManualClock, members: FakeMembers, mailer: FakeMailer
) -> None:
    one, two = worker(state, clock, members, mailer, "r1"), worker(state, clock, members, mailer, "r2")
    events = [paid(f"ord_{i}") for i in range(20)]
    await one.handle_batch(events[:10])
    await two.handle_batch(events[10:])

    counts = await asyncio.gather(one.send_pending(), two.send_pending(), one.send_pending())

    assert sum(counts) == 20
    assert sorted(m.event_id for m in mailer.sent) == sorted(e.event_id for e in events)


async def test_a_sender_that_stopped_mid_send_leaves_its_message_to_another_after_the_claim(
    state: NotificationState, clock: ManualClock, members: FakeMembers, mailer: FakeMailer
) -> None:
    survivor = worker(state, clock, members, mailer, "r2")
    event = paid()
    await survivor.handle(event)
    async with memory_uow(state)() as uow:  # replica r1 claims it, then dies before sending
        assert await uow.notices.claim(
            event.event_id, "r1", clock.now(), clock.now() + seconds(CLAIM_SECONDS)
        )

    assert await survivor.send_pending() == 0
    clock.advance(seconds(CLAIM_SECONDS + 0.001))
    assert await survivor.send_pending() == 1
    assert [m.event_id for m in mailer.sent] == [event.event_id]


async def test_the_sender_is_woken_by_a_new_message_without_waiting_for_its_poll(
    service: NotificationService, mailer: FakeMailer
) -> None:
    sender = asyncio.create_task(service.run_sender(poll_seconds=60))
    try:
        await asyncio.sleep(0.01)  # the first run found nothing and waits
        await service.handle(paid())
        async with asyncio.timeout(2):
            await mailer.delivered.wait()
    finally:
        sender.cancel()
    assert len(mailer.sent) == 1
